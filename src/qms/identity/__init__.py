"""People and permissions: users (journal events), passwords and sessions (a secrets store
outside the archive), roles → permissions from config.yaml.

Small modules, one concern each:
  policy       the `identity:` section of config.yaml (roles, password, lockout, session)
  permissions  User, require(user, permission) and the refusals
  projection   apply_user_event(conn, entry): the `users` table of the catalog
  secrets      the secrets store (.qms/secrets.sqlite, 0600): hashes, counters, sessions — each row
               MAC'd with a key outside the workspace (secrets.secret_mac_key)
  passwords    argon2id hashing and the password policy
  users        add, roles, disable, passwd, authenticate (journaled failures, lockout)
  sessions     login, logout, whoami; the token in the user's config folder
"""

from .permissions import NotAuthenticated, PermissionDenied, User, require

__all__ = ["NotAuthenticated", "PermissionDenied", "User", "require"]
