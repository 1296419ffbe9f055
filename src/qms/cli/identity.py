"""qms login / logout / whoami / user … / keys …: people, sessions and the organisation's key."""

from __future__ import annotations

import click

from .env import QmsGroup, pass_env
from .options import emit, emit_page, json_option, page_options, read_secret
from ..base.textfmt import table
from ..identity import NotAuthenticated, require
from ..identity.sessions import current_user, login as do_login, logout as do_logout, current_session
from ..identity.users import add_user, user_page, user_details, set_roles, disable, change_password
from ..base.errors import InvalidInput
from ..identity.keys import keys_init, keys_import, keys_show


def _optional_user(ws):
    try:
        return current_user(ws)
    except NotAuthenticated:
        return None


def _user_text(u: dict) -> str:
    lines = [f"{u['login']}  {u['name']}  {u['department'] or '-'}  "
             f"{'DISABLED ' + (u.get('disabled_reason') or '') if u['disabled'] else 'active'}",
             f"roles: {', '.join(u['roles']) or '-'}",
             f"permissions: {', '.join(u['permissions']) or '(read only)'}"]
    if "created_at" in u:
        lines.append(f"created {u['created_at']} by {u['created_by']}; password changed "
                     f"{u['password_changed_at'] or '-'}{' (must change)' if u['must_change_password'] else ''}")
        if u["locked_until"]:
            lines.append(f"LOCKED until {u['locked_until']}")
        elif u["failed_attempts"]:
            lines.append(f"{u['failed_attempts']} failed password(s) in a row")
    return "\n".join(lines)


@click.command()
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_env
def login(env, login, password_stdin):
    """Open a session for this workspace (idle timeout and lifetime from config.yaml)."""
    s = do_login(env.ws, login, read_secret(password_stdin, "Password"))
    d = s.to_json()
    click.echo(f"logged in as {s.user.login} ({s.user.name}) until {d['session_expires']} "
               f"(idle limit {d['idle_expires']})")


@click.command()
@pass_env
def logout(env):
    """End this workspace's session."""
    who = do_logout(env.ws)
    click.echo(f"logged out {who}" if who else "no session")


@click.command()
@json_option
@pass_env
def whoami(env, as_json):
    """The session's user, roles and permissions."""
    d = current_session(env.ws).to_json()
    emit(d, as_json, lambda u: _user_text(u) + f"\nsession until {u['session_expires']}, "
                                               f"idle limit {u['idle_expires']}")


@click.group(cls=QmsGroup)
def user():
    """People: add, list, show, roles, disable, passwd (an admin's session changes them)."""


@user.command("add")
@click.argument("login")
@click.option("--name", required=True, help="The printed name, as in signatures (张建华).")
@click.option("--roles", required=True, help="Comma-separated: admin, author, clerk, keeper, auditor, 编制 …")
@click.option("--department", default="", help="部门")
@click.option("--password-stdin", is_flag=True, help="Read the initial password from standard input.")
@json_option
@pass_env
def user_add(env, login, name, roles, department, password_stdin, as_json):
    """Create a user (logins are never reused)."""
    actor = require(env.user, "users.manage")    # refuse before asking for a password
    u = add_user(env.ws, login, name=name, roles=roles.split(","), department=department,
                 password=lambda: read_secret(password_stdin, "Initial password", confirm=True), actor=actor)
    emit(u.to_json(), as_json, f"added user {u.login} ({u.name}), roles {', '.join(u.roles)}")


@user.command("list")
@page_options
@json_option
@pass_env
def user_list(env, limit, offset, as_json):
    """Every user, disabled ones too, by login; a page at a time (--json: {total, items, next})."""
    columns = ["login", "name", "department", "roles", "status"]      # English whatever the workspace reads
    emit_page(user_page(env.ws, limit=limit, offset=offset), as_json,
              lambda xs: table(columns, [[x["login"], x["name"], x["department"], ",".join(x["roles"]),
                                          "disabled" if x["disabled"] else "active"] for x in xs]) if xs else "(no users)")


@user.command("show")
@click.argument("login")
@json_option
@pass_env
def user_show(env, login, as_json):
    """One user: roles, permissions, password age, lock state (never the hash)."""
    emit(user_details(env.ws, login), as_json, _user_text)


@user.command("roles")
@click.argument("login")
@click.option("--set", "roles", required=True, help="The new comma-separated role list.")
@json_option
@pass_env
def user_roles(env, login, roles, as_json):
    """Replace a user's roles."""
    u = set_roles(env.ws, login, roles.split(","), actor=env.user)
    emit(u.to_json(), as_json, f"roles of {u.login} ({u.name}): {', '.join(u.roles) or '-'}")


@user.command("disable")
@click.argument("login")
@click.option("--reason", required=True)
@pass_env
def user_disable(env, login, reason):
    """Disable a login for good (its signatures keep their person; it is never reused)."""
    u = disable(env.ws, login, reason=reason, actor=env.user)
    click.echo(f"disabled {u.login} ({u.name}): {reason}")


@user.command("passwd")
@click.argument("login", required=False)
@click.option("--password-stdin", is_flag=True,
              help="Read from standard input: the current then the new password (own), or the new one "
                   "(an admin resetting another user's).")
@pass_env
def user_passwd(env, login, password_stdin):
    """Change your password (also an expired one, without a session), or reset another's as admin."""
    actor = _optional_user(env.ws)
    login = login or (actor.login if actor else None)
    if not login:
        raise InvalidInput("which login? qms user passwd LOGIN (no session here)", field="login")
    if actor is not None and actor.login != login:
        change_password(env.ws, login, read_secret(password_stdin, "New password", confirm=True), actor=actor)
        click.echo(f"password of {login} reset; it must be changed at the next login")
    else:
        current = read_secret(password_stdin, "Current password")
        new = read_secret(password_stdin, "New password", confirm=True)
        change_password(env.ws, login, new, actor=None, current=current)
        click.echo(f"password of {login} changed; log in again")


@click.group(cls=QmsGroup)
def keys():
    """The organisation's signing key that seals released PDFs."""


@keys.command("init")
@click.option("--replace", is_flag=True, help="Replace an existing key (sealed PDFs keep their old seal).")
@pass_env
def keys_init_cmd(env, replace):
    """Generate a self-signed organisation CA and a signing certificate."""
    info = keys_init(env.ws, actor=env.user, replace=replace)
    click.echo(f"signing key made: {info.subject} (SHA-256 {info.sha256[:16]}…)")


@keys.command("import")
@click.argument("p12", type=click.Path(dir_okay=False))
@click.option("--passphrase-stdin", is_flag=True, help="Read the PKCS#12 passphrase from standard input.")
@pass_env
def keys_import_cmd(env, p12, passphrase_stdin):
    """Use the key and certificate of a PKCS#12 file (from a real CA) for sealing."""
    actor = require(env.user, "keys.manage")
    phrase = read_secret(passphrase_stdin, "Passphrase")
    info = keys_import(env.ws, p12, phrase.encode("utf-8") if phrase else None, actor=actor)
    click.echo(f"signing key imported: {info.subject}, issued by {info.issuer}")


@keys.command("show")
@json_option
@pass_env
def keys_show_cmd(env, as_json):
    """The signing certificate: subject, issuer, validity, fingerprint."""
    emit(keys_show(env.ws).to_json(), as_json,
         lambda k: "\n".join(f"{key}: {value}" for key, value in k.items()))


COMMANDS = [login, logout, whoami, user, keys]
