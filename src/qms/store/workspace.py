"""A workspace: config.yaml + schemas/ + templates/ + archive/. Loaded and validated once."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import qms

from ..base.errors import Conflict, InvalidInput, NotFound, QmsError, Refused
from ..base.yaml_source import YamlSource, check_keys, load_yaml
from .pg_journal import PgLog
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
import json
from ..base.input_limits import period_error

CONFIG_NAME = "config.yaml"
# The keys config.yaml's mappings may hold; anything else is refused with the nearest match.
CONFIG_KEYS = ("organisation", "locale", "timezone", "documents", "records", "identity", "paths", "journal",
               "review", "training", "notify", "departments", "scan", "search", "storage", "convert")
ORG_KEYS = ("name", "name_en", "short")
DOCUMENTS_KEYS = ("number_pattern", "revision", "kinds", "approvals", "keep_obsolete")
REVISION_KEYS = ("scheme", "first")
KIND_KEYS = ("label", "series")
ROLE_KEYS = ("key", "label", "required", "multiple")
RECORDS_KEYS = ("numbering", "retention")
RETENTION_KEYS = ("period", "from")
PATHS_KEYS = ("schemas", "templates", "archive")
JOURNAL_KEYS = ("checkpoint_every",)
SEARCH_KEYS = ("count_cap",)
# storage: (issue 26) absent = the embedded default (SQLite catalog, journal file, archive folder)
STORAGE_KEYS = ("database", "objects", "s3_endpoint")
CONVERT_KEYS = ("resident",)
RESIDENT_MODES = ("auto", "on", "off")

# Groups of capitals/digits joined by - or /, a group may hold a clause number (7.5):
# QP-SC-015, WY-QP-7.5-01, HX/QP-05. A '/' never reaches a path: see revisions.safe_name.
DEFAULT_NUMBER_PATTERN = r"^[A-Z0-9]+(\.[0-9]+)*([-/][A-Z0-9]+(\.[0-9]+)*)+$"


@dataclass(frozen=True)
class Role:
    key: str          # English key: prepared, countersigned, …
    label: str        # Chinese label: 编制, 会签, …
    required: bool
    multiple: bool


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    series: str


@dataclass
class Config:
    org_name: str
    org_name_en: str
    locale: str
    number_pattern: str
    first_revision: str
    kinds: dict[str, Kind]
    roles: list[Role]
    keep_obsolete: str
    record_numbering: str
    record_retention: dict
    paths: dict[str, str] = field(default_factory=dict)
    timezone: str = ""        # IANA name (Asia/Shanghai): times people read; blank = the machine's
    # review: / training: / notify: as written (issue 23); their own packages read and check them
    quality: dict = field(default_factory=dict)
    checkpoint_every: int = 1000    # journal.checkpoint_every: a stored checkpoint every N events (0: none)
    scan: dict = field(default_factory=dict)   # the scan inbox (issue 22): inbox, confirm, max_pages
    search_count_cap: int = 1000    # search.count_cap: totals exact up to this, beyond it "1,000+"
    # storage.database (postgresql://…), storage.objects (s3://BUCKET/PREFIX), storage.s3_endpoint;
    # empty: the embedded default. Credentials never here: PGPASSWORD/~/.pgpass and AWS_* variables.
    storage: dict = field(default_factory=dict)
    convert_resident: str = "auto"  # convert.resident: a LibreOffice kept running (auto|on|off)


@dataclass
class Workspace:
    root: Path
    config: Config

    @property
    def archive_dir(self) -> Path:
        return self.root / self.config.paths.get("archive", "archive")

    @property
    def schemas_dir(self) -> Path:
        return self.root / self.config.paths.get("schemas", "schemas")

    @property
    def templates_dir(self) -> Path:
        return self.root / self.config.paths.get("templates", "templates")

    @property
    def catalog_path(self) -> Path:
        return self.archive_dir / "catalog.sqlite"

    @property
    def audit_path(self) -> Path:
        """audit.log; with storage.database the journal's table there (pg_journal.PgLog), which
        audit.py reads and appends to as it does the file."""
        url = self.config.storage.get("database")
        if url:
            return PgLog(url, self.archive_dir / "audit.log")
        return self.archive_dir / "audit.log"

    @property
    def index_dir(self) -> Path:
        return self.archive_dir / "index"

    def rel(self, path: Path | str | None) -> str | None:
        """Path relative to the workspace root, as JSON output gives it."""
        if path is None:
            return None
        if isinstance(path, PgLog):
            return str(path)
        path = Path(path)
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def inside(self, path: Path | str, what: str = "path") -> Path:
        """Resolve a user-given path that must lie inside the workspace."""
        resolved = Path(path).resolve()
        try:
            resolved.relative_to(self.root.resolve())
        except ValueError:
            raise Refused(f"{what} lies outside the workspace {self.root}", file=path) from None
        return resolved

    def role(self, text: str) -> Role:
        """A role by its Chinese label or English key (case-insensitive)."""
        wanted = text.strip()
        for role in self.config.roles:
            if wanted == role.label or wanted.lower() == role.key.lower():
                return role
        known = ", ".join(f"{r.label} ({r.key})" for r in self.config.roles)
        raise InvalidInput(f"unknown role {text!r}; expected one of: {known}", field="role")

    def kind(self, text: str) -> Kind | None:
        for kind in self.config.kinds.values():
            if text == kind.key or text == kind.label:
                return kind
        return None


def _require(src: YamlSource, mapping: dict, key: str, path: tuple, typ=str):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise src.error(f"missing; expected {typ.__name__}", *path, key)
    value = mapping[key]
    if not isinstance(value, typ):
        raise src.error(f"expected {typ.__name__}, got {type(value).__name__}", *path, key)
    return value


def _whole(src: YamlSource, value, lo: int, hi: int, what: str, *path) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi):
        raise src.error(f"expected {what}, a whole number from {lo} to {hi}", *path)


def _check_quality(src: YamlSource, data: dict) -> None:
    """review:, training:, notify:, departments: (issue 23): shapes and numbers, one line each."""
    for key, known in (("review", ("periods", "default", "ahead_days")),
                       ("training", ("departments", "roles", "due_days")),
                       ("notify", ("smtp", "tick_seconds"))):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise src.error("expected a mapping", key)
        check_keys(src, value, known, key)
    review = data.get("review") or {}
    periods = review.get("periods") or {}
    if not isinstance(periods, dict):
        raise src.error("expected a mapping of document kind → months", "review", "periods")
    for kind, months in periods.items():
        _whole(src, months, 1, 120, "months", "review", "periods", kind)
    _whole(src, review.get("default"), 1, 120, "months", "review", "default")
    _whole(src, review.get("ahead_days"), 0, 365, "days", "review", "ahead_days")
    training = data.get("training") or {}
    _whole(src, training.get("due_days"), 1, 365, "days", "training", "due_days")
    for k in ("departments", "roles"):
        if not isinstance(training.get(k) or [], list):
            raise src.error("expected a list of names", "training", k)
    if not isinstance(data.get("departments") or [], list):
        raise src.error("expected a list of department names", "departments")
    notify = data.get("notify") or {}
    _whole(src, notify.get("tick_seconds"), 10, 86400, "seconds", "notify", "tick_seconds")
    smtp = notify.get("smtp")
    if smtp is not None:
        if not isinstance(smtp, dict) or not smtp.get("host"):
            raise src.error("expected {host, port, from}", "notify", "smtp")
        check_keys(src, smtp, ("host", "port", "from", "starttls", "user", "password_env", "timeout"), "notify", "smtp")
        _whole(src, smtp.get("port"), 1, 65535, "a port", "notify", "smtp", "port")


def load_config(path: Path) -> Config:
    src = load_yaml(path)
    data = src.data
    if not isinstance(data, dict):
        raise InvalidInput("expected a mapping at the top level", file=path)
    check_keys(src, data, CONFIG_KEYS)
    org = data.get("organisation") or {}
    docs = data.get("documents") or {}
    recs = data.get("records") or {}
    for value, known, key in ((org, ORG_KEYS, "organisation"), (docs, DOCUMENTS_KEYS, "documents"),
                              (recs, RECORDS_KEYS, "records"), (data.get("paths") or {}, PATHS_KEYS, "paths"),
                              (docs.get("revision") or {} if isinstance(docs, dict) else {}, REVISION_KEYS,
                               "documents.revision"),
                              (recs.get("retention") or {} if isinstance(recs, dict) else {}, RETENTION_KEYS,
                               "records.retention"),
                              (data.get("journal") or {}, JOURNAL_KEYS, "journal"),
                              (data.get("search") or {}, SEARCH_KEYS, "search"),
                              (data.get("storage") or {}, STORAGE_KEYS, "storage"),
                              (data.get("convert") or {}, CONVERT_KEYS, "convert")):
        if not isinstance(value, dict):
            raise src.error("expected a mapping", *key.split("."))
        check_keys(src, value, known, *key.split("."))
    for i, r in enumerate(docs.get("approvals") or []):
        if isinstance(r, dict):
            check_keys(src, r, ROLE_KEYS, "documents", "approvals", i)
    kinds_in = docs.get("kinds") or {}
    if not isinstance(kinds_in, dict):
        raise src.error("expected a mapping of kind → {label, series}", "documents", "kinds")
    for key, k in kinds_in.items():
        if k is not None and not isinstance(k, dict):
            raise src.error("expected {label, series}", "documents", "kinds", key)
        check_keys(src, k or {}, KIND_KEYS, "documents", "kinds", key)
    _check_quality(src, data)
    count_cap = (data.get("search") or {}).get("count_cap")
    count_cap = 1000 if count_cap is None else count_cap
    _whole(src, count_cap, 10, 1_000_000, "a count", "search", "count_cap")
    resident = (data.get("convert") or {}).get("resident", "auto")
    resident = {True: "on", False: "off"}.get(resident, resident) if isinstance(resident, bool) \
        else str(resident).lower()          # YAML reads a bare on/off as true/false
    if resident not in RESIDENT_MODES:
        raise src.error(f"expected one of {', '.join(RESIDENT_MODES)}", "convert", "resident")
    name = _require(src, org, "name", ("organisation",))
    bad = period_error((recs.get("retention") or {}).get("period", "5y"))
    if bad:
        raise src.error(bad, "records", "retention", "period")
    pattern = docs.get("number_pattern", DEFAULT_NUMBER_PATTERN)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise src.error(f"not a valid regular expression: {exc}", "documents", "number_pattern") from None
    roles = []
    for i, r in enumerate(docs.get("approvals") or []):
        key = _require(src, r, "key", ("documents", "approvals", i))
        label = _require(src, r, "label", ("documents", "approvals", i))
        roles.append(Role(key=key, label=label, required=bool(r.get("required", True)),
                          multiple=bool(r.get("multiple", False))))
    if not roles:
        raise src.error("expected a list of approval roles", "documents", "approvals")
    kinds = {}
    for key, k in (docs.get("kinds") or {"procedure": {"label": "程序文件"}}).items():
        k = k or {}
        kinds[key] = Kind(key=key, label=k.get("label", key), series=k.get("series", "质量管理体系文件"))
    revision = docs.get("revision") or {}
    return Config(
        org_name=name,
        org_name_en=org.get("name_en", ""),
        locale=str(data.get("locale", "zh-CN")),
        number_pattern=pattern,
        first_revision=str(revision.get("first", "A/0")),
        kinds=kinds,
        roles=roles,
        keep_obsolete=str(docs.get("keep_obsolete", "forever")),
        record_numbering=str(recs.get("numbering", "{form}-{year}-{seq:04d}")),
        record_retention=dict(recs.get("retention") or {"period": "5y", "from": "year_end"}),
        paths=dict(data.get("paths") or {}),
        timezone=_timezone(src, data.get("timezone")),
        quality={k: data.get(k) or {} for k in ("review", "training", "notify")}
        | {"departments": [str(x) for x in (data.get("departments") or [])]},
        checkpoint_every=_checkpoint_every(src, (data.get("journal") or {}).get("checkpoint_every", 1000)),
        scan=dict(data.get("scan") or {}),
        search_count_cap=count_cap,
        storage=_storage(src, data.get("storage") or {}),
        convert_resident=resident,
    )


def _storage(src: YamlSource, data: dict) -> dict:
    """storage: checked, so a typo never silently runs the embedded default beside a real database."""
    out = {}
    for key, value in data.items():
        if value is None or value == "":
            continue
        error = storage_error(key, value)
        if error:
            raise src.error(error, "storage", key)
        out[key] = str(value)
    return out


def storage_error(key: str, value) -> str | None:
    """What is wrong with storage.KEY = value (None: fine); also used by `qms init` for its options."""
    text = str(value)
    parsed = urlsplit(text)
    if key == "database":
        if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
            return f"expected postgresql://USER@HOST[:PORT]/DATABASE, got {text!r}"
        if parsed.password:
            return ("a password does not belong in config.yaml: give it in PGPASSWORD or ~/.pgpass "
                    "(postgresql://USER@HOST/DATABASE)")
    elif key == "objects":
        if parsed.scheme != "s3" or not parsed.netloc:
            return f"expected s3://BUCKET or s3://BUCKET/PREFIX, got {text!r}"
    elif key == "s3_endpoint":
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.password:
            return f"expected http(s)://HOST[:PORT] without credentials (AWS_* variables hold them), got {text!r}"
    return None


def _checkpoint_every(src: YamlSource, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
        raise src.error(f"expected a whole number of events from 0 (no automatic checkpoints) to 10000000, "
                        f"got {value!r}", "journal", "checkpoint_every")
    return value


def _timezone(src: YamlSource, value) -> str:
    if not value:
        return ""
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise src.error(f"unknown time zone {value!r}; expected a name such as Asia/Shanghai", "timezone") from None
    return str(value)


def open_workspace(root: Path | str) -> Workspace:
    root = Path(root).resolve()
    cfg = root / CONFIG_NAME
    if not cfg.is_file():
        raise NotFound(f"no {CONFIG_NAME} here; is this a qms workspace? (qms init DIR makes one)", file=root)
    ws = Workspace(root=root, config=load_config(cfg))
    for key, value in ws.config.paths.items():
        target = (root / value).resolve()
        if target != root and root not in target.parents:
            raise Refused(f"{value!r} lies outside the workspace {root}; archive, schemas and templates "
                           "must be folders inside it", file=cfg, field=f"paths.{key}")
    return ws


def find_workspace(explicit: str | Path | None = None, cwd: Path | None = None) -> Workspace:
    """--workspace, else $QMS_WORKSPACE, else the nearest folder upward holding config.yaml."""
    if explicit:
        return open_workspace(explicit)
    env = os.environ.get("QMS_WORKSPACE")
    if env:
        return open_workspace(env)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return open_workspace(folder)
    raise NotFound("no workspace found: pass --workspace DIR, set QMS_WORKSPACE, "
                   "or run inside a folder holding config.yaml (qms init DIR makes one)")


def _set_org(text: str, name: str, name_en: str) -> str:
    """Replace organisation.name (and name_en) in the config text, keeping its comments."""
    def put(text: str, key: str, value: str) -> str:
        # a JSON string is a valid YAML double-quoted scalar: any name survives quoting
        return re.sub(rf"^(  {key}:)[^\n#]*", lambda m: f"{m.group(1)} {json.dumps(value, ensure_ascii=False)}",
                      text, count=1, flags=re.M)
    text = put(text, "name", name)
    return put(text, "name_en", name_en)


def defaults_dir() -> Path:
    """Packaged defaults: inside the wheel, or the source checkout's root in development."""
    package = Path(qms.__file__).resolve().parent      # src/qms, wherever this module sits in it
    packaged = package / "_defaults"
    if (packaged / CONFIG_NAME).is_file():
        return packaged
    checkout = package.parents[1]
    if (checkout / CONFIG_NAME).is_file():
        return checkout
    raise QmsError("packaged defaults are missing; reinstall qms")


# The templates every workspace needs (a procedure and the generic record form); the others belong
# to the example forms, which `examples=False` (qms init --no-examples) leaves out with them.
BASE_TEMPLATES = ("procedure.docx", "record.docx")


def init_workspace(target: Path | str, *, org: str | None = None, org_en: str | None = None,
                   examples: bool = True, storage: dict | None = None) -> Workspace:
    """A new workspace from the packaged defaults; `org` replaces the placeholder company name
    (XXXXXX有限公司) that every cover, header and form would otherwise print. Without `examples`
    it starts with no forms (an empty schemas/), for a company that writes its own."""
    target = Path(target)
    if (target / CONFIG_NAME).exists():
        raise Conflict(f"already a workspace ({CONFIG_NAME} exists)", file=target)
    if org is not None and not org.strip():
        raise InvalidInput("the organisation name is empty", field="org")
    storage = {k: v for k, v in (storage or {}).items() if v}
    for key, value in storage.items():
        error = storage_error(key, value)
        if error:
            raise InvalidInput(error, field=key.replace("_", "-"))
    src = defaults_dir()
    target.mkdir(parents=True, exist_ok=True)
    text = (src / CONFIG_NAME).read_text(encoding="utf-8")
    if org:
        text = _set_org(text, org.strip(), (org_en or "").strip())
    if storage:
        text = text.rstrip("\n") + "\n\n# where the catalog, journal and archived files live (several sites: README)\nstorage:\n" + "".join(
            f"  {k}: {json.dumps(v)}\n" for k, v in storage.items())
    (target / CONFIG_NAME).write_text(text, encoding="utf-8")
    if examples:
        for sub in ("schemas", "templates", "kpis"):     # kpis: the service forms' KPIs (issue 24)
            if (src / sub).is_dir():
                shutil.copytree(src / sub, target / sub, dirs_exist_ok=True)
    else:
        (target / "schemas").mkdir(exist_ok=True)
        (target / "templates").mkdir(exist_ok=True)
        for name in BASE_TEMPLATES:
            shutil.copyfile(src / "templates" / name, target / "templates" / name)
    (target / ".gitignore").write_text("archive/\n.qms/\n", encoding="utf-8")   # .qms: secrets and keys
    return open_workspace(target)
