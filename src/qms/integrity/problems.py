"""What verify finds, in a form a program can read: a stable code, the file or folder it is about,
and the message in English and Chinese. A Problem is also the English line (a str), so every
caller that prints or searches the text keeps working."""

from __future__ import annotations

# code → what it means, in Chinese (the English text is the detailed line verify writes)
CODES: dict[str, str] = {
    "MANIFEST_INVALID": "清单（manifest.json）不是有效的 JSON，已被改动",
    "SYMLINK": "档案中出现符号链接",
    "UNLISTED_FILE": "文件不在清单中",
    "CONTENT_CHANGED": "文件内容已变（SHA-256 与清单不符）",
    "FILE_MISSING": "清单所列文件缺失",
    "NUMBER_GAP": "编号序列有缺号：有一次归档或销毁从日志中被删除",
    "CHAIN_BROKEN": "审计日志的哈希链断开（日志被改动、截断或替换）",
    "CATALOG_MISSING": "目录数据库缺失（qms rebuild 可由日志重建）",
    "CATALOG_BEHIND": "目录数据库与日志不同步（运行任一写命令或 qms recover）",
    "CATALOG_DIFFERS": "目录数据库与日志重放的结果不一致",
    "CATALOG_UNREADABLE": "目录数据库无法读取（qms rebuild 可由日志重建）",
    "JOURNAL_MISSING": "档案中有文件或记录，但审计日志为空或缺失",
    "FOLDER_MISSING": "审计日志记载的文件夹在档案中缺失",
    "MANIFEST_MISMATCH": "清单与审计日志记录的哈希不符（清单及其文件被改动）",
    "UNJOURNALED_FOLDER": "档案中的文件夹没有任何日志条目对应",
    "UNJOURNALED_FILE": "文件既不在任何清单中，也没有日志条目对应",
    "SEAL_BROKEN": "发布 PDF 的电子印章已损坏",
    "INDEX_MISSING": "检索索引缺失（运行 qms reindex）",
    "INDEX_UNTRUSTED": "检索索引文件不是 qms 写入的，未打开，已由档案重建",
    "INDEX_INCOMPLETE": "检索索引缺少条目（运行 qms reindex）",
    "INDEX_EXTRA": "检索索引含有目录中没有的条目（运行 qms reindex）",
    "INDEX_STALE": "检索索引中的记录状态已过时（运行 qms reindex）",
    "CHECKPOINT_MISMATCH": "日志与签名检查点不符（检查点之前的日志被改动）",
    "CHECKPOINT_STORED": "已记入日志的检查点被删除或改动",
    "JOURNAL_CUT": "审计日志比本工作区最后提交的短或被旧副本替换",
    "CONFIG_UNAPPLIED": "配置、表单或模板被改动而未经 qms config apply 记入日志",
    "SEAL_MISSING": "发布 PDF 没有组织的电子印章",
    "SEAL_UNTRUSTED": "发布 PDF 的印章不是日志登记的证书所盖（被另一密钥重新盖章）",
    "HARD_LINK": "档案文件与档案外的文件硬链接",
    # the object store (storage.objects, issue 26)
    "OBJECT_MISSING": "对象存储中缺少清单所列的对象",
    "OBJECT_CHANGED": "对象存储中的对象已被改动（出现新版本或 SHA-256 与清单不符）",
    "OBJECT_UNLISTED": "对象存储中的对象不在任何清单中",
    "OBJECTS_UNREADABLE": "无法读取对象存储（存储桶、地址或凭据有误）",

    "TRAIL_DIFFERS": "审计追踪表与审计日志不一致（条目缺失、多出或被改动；qms rebuild 可由日志重建）",
}


class Problem(str):
    """`f"{target}: {message}"`, with .code, .target, .message (English) and .zh."""

    def __new__(cls, code: str, target: str, message: str):
        if code not in CODES:
            raise ValueError(f"unknown verify problem code {code!r}")
        self = super().__new__(cls, f"{target}: {message}" if target else message)
        self.code, self.target, self.message = code, target, message
        return self

    def __getnewargs__(self):          # verify's journal side runs in a forked process: pickled back
        return self.code, self.target, self.message

    @property
    def zh(self) -> str:
        return f"{self.target}：{CODES[self.code]}" if self.target else CODES[self.code]

    def to_json(self, chinese: bool = False) -> dict:
        return {"code": self.code, "target": self.target, "message": self.zh if chinese else str(self),
                "message_en": str(self), "message_zh": self.zh}


def coded(code: str, target: str, lines: list[str]) -> list[Problem]:
    """Lines another module wrote (the chain scan, the checkpoint, the replay compare) under one code;
    a line that names its own file keeps it as the target."""
    out = []
    for line in lines:
        if isinstance(line, Problem):
            out.append(line)
            continue
        head, sep, rest = line.partition(": ")
        out.append(Problem(code, head, rest) if sep and " " not in head else Problem(code, target, line))
    return out
