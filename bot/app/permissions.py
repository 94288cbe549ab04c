"""Who may do what: one table of actions, checked by the use cases for every transport.

There are three kinds of people in a workspace:

* **admins**: Slack's workspace admins and owners, and the user ids the operator names in
  ``OUTCOME_ADMINS`` (the Slack transport sets :attr:`Actor.admin`); the CLI acts as the
  **operator** (:attr:`Actor.operator`), who may do everything an admin may;
* an initiative's **owners**: its product owner and its engineering owner, two different
  people; until both are named, its creator and the owner already named stand in for them;
* **members**: everyone else.

The CLI, the slash command, the modals, criteria files and the App Home all reach the
domain through :mod:`bot.app.services` and :mod:`bot.app.commands`, which call
:func:`require` before they change anything; a refusal is :class:`Forbidden`, whose message
names who may do it. :func:`permission_table_markdown` renders :data:`TABLE` for the docs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.app.context import Actor
from bot.core.errors import Forbidden
from bot.core.kinds import SignoffRole
from bot.storage.models import Initiative

ADMINS = "a workspace admin"
WHO_ADMINS_ARE = ("Admins are the Slack workspace's admins and owners and the user ids the "
                  "operator lists in `OUTCOME_ADMINS`; the CLI acts as the operator, who "
                  "may do everything an admin may.")


class Who(enum.StrEnum):
    """Who may do an action, from the widest to the narrowest."""

    MEMBER = "member"  # anyone in the workspace
    OWNERS = "owners"  # the initiative's owners, or an admin
    ADMIN = "admin"  # an admin (or the operator)
    SIGNER = "signer"  # the owner of the role being signed, and nobody for them


class Action(enum.StrEnum):
    DEFINE = "define"
    CHANGE = "change"
    METRIC = "metric"
    SOURCE = "source"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    SIGN = "sign"
    SCHEDULE = "schedule"
    SCHEDULE_CHANNEL = "schedule channel"
    RECORD = "record"
    SHIP = "ship"
    DELIVERABLE = "deliverable"
    PULL = "pull"
    READ = "read"
    EXPORT = "export"
    EXPORT_ALL = "export all"
    PUSH_TOKENS = "push tokens"
    FAILED_WORK = "failed work"


@dataclass(frozen=True)
class Rule:
    """One row of the table: ``does`` completes a refusal ("... can <does>.")."""

    action: Action
    label: str
    who: Who
    does: str
    hint: str = ""


TABLE: dict[Action, Rule] = {rule.action: rule for rule in (
    Rule(Action.DEFINE, "Define a new initiative", Who.MEMBER, "define an initiative"),
    Rule(Action.CHANGE, "Change an initiative's criteria, owners, review channel or cadence "
         "(draft or agreed)", Who.OWNERS, "change it"),
    Rule(Action.METRIC, "Add or change a metric (manual or push source)", Who.OWNERS,
         "change its metrics"),
    Rule(Action.SOURCE, "Give a metric a pulled source (any kind but manual and push)",
         Who.ADMIN, "give a metric a pulled source",
         "An owner can use source=manual (record values) or source=push (a pipeline pushes "
         "them)."),
    Rule(Action.ARCHIVE, "Archive an initiative", Who.OWNERS, "archive it"),
    Rule(Action.UNARCHIVE, "Unarchive an initiative (back to draft, to sign off again)",
         Who.OWNERS, "unarchive it"),
    Rule(Action.SIGN, "Sign off an initiative's criteria as product or engineering owner",
         Who.SIGNER, "agree to its criteria"),
    Rule(Action.SCHEDULE, "Schedule an initiative's digests", Who.OWNERS,
         "schedule its digests"),
    Rule(Action.SCHEDULE_CHANNEL, "Schedule a channel-wide digest", Who.ADMIN,
         "schedule a channel-wide digest",
         "An initiative's owners can schedule its own digests: schedule <initiative> ..."),
    Rule(Action.RECORD, "Record a metric value", Who.MEMBER, "record a value"),
    Rule(Action.SHIP, "Record that a deliverable shipped", Who.MEMBER,
         "record that a deliverable shipped"),
    Rule(Action.DELIVERABLE, "Say which metrics a deliverable moves, or remove one",
         Who.OWNERS, "change its deliverables",
         "Anyone can record that a deliverable shipped: shipped <initiative> \"<name>\"."),
    Rule(Action.PULL, "Pull metric values now", Who.MEMBER, "pull values"),
    Rule(Action.READ, "Show, list, review, what moved, history", Who.MEMBER, "read it"),
    Rule(Action.EXPORT, "Export one initiative", Who.MEMBER, "export it"),
    Rule(Action.EXPORT_ALL, "Export every initiative", Who.ADMIN, "export every initiative",
         "Anyone can export one initiative: export <initiative>."),
    Rule(Action.PUSH_TOKENS, "Create, list or revoke push tokens", Who.ADMIN,
         "manage push tokens"),
    Rule(Action.FAILED_WORK, "See and retry the workspace's failed tasks (App Home)",
         Who.ADMIN, "see or retry failed tasks"),
)}


def is_admin(actor: Actor) -> bool:
    """An admin of the actor's workspace, or the operator."""
    return actor.admin or actor.operator


def both_owners(initiative: Initiative) -> bool:
    return bool(initiative.product_owner and initiative.engineering_owner)


def stewards(initiative: Initiative) -> tuple[str, ...]:
    """Who counts as the initiative's owners: both owners once named, before that its
    creator and the owner already named."""
    if both_owners(initiative):
        return initiative.product_owner, initiative.engineering_owner
    people = (initiative.created_by, initiative.product_owner, initiative.engineering_owner)
    return tuple(dict.fromkeys(p for p in people if p))


def allows(actor: Actor, action: Action, initiative: Initiative | None = None) -> bool:
    """Whether :func:`require` would let ``actor`` do ``action`` (signing: in some role)."""
    try:
        require(actor, action, initiative)
    except Forbidden:
        return False
    return True


def require(actor: Actor, action: Action, initiative: Initiative | None = None, *,
            does: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may do ``action`` (to ``initiative``);
    ``does`` says more exactly what was refused, e.g. "change its target"."""
    rule = TABLE[action]
    if rule.who is Who.MEMBER:
        return
    if rule.who is Who.SIGNER:
        assert initiative is not None, action
        signing_roles(actor, initiative)
        return
    if is_admin(actor):
        return
    doing = does or rule.does
    if rule.who is Who.ADMIN:
        hint = f" {rule.hint}" if rule.hint else ""
        raise Forbidden(f"Only {ADMINS} (a Slack admin or owner, or someone the operator "
                        f"named in OUTCOME_ADMINS) can {doing}.{hint}")
    assert initiative is not None, action
    if actor.user in stewards(initiative):
        return
    raise Forbidden(_only_owners(initiative, doing))


def _only_owners(initiative: Initiative, doing: str) -> str:
    key = initiative.key
    if both_owners(initiative):
        return (f"Only the owners of {key} (product {initiative.product_owner}, engineering "
                f"{initiative.engineering_owner}) or {ADMINS} can {doing}.")
    named = [f"its {role} owner {user}" for role, user in (
        ("product", initiative.product_owner), ("engineering", initiative.engineering_owner))
        if user]
    if initiative.created_by:
        named.insert(0, f"its creator {initiative.created_by}")
    if not named:
        return f"Only {ADMINS} can {doing} until both owners of {key} are named."
    return (f"Until both owners of {key} are named, only {' and '.join(named)} or {ADMINS} "
            f"can {doing}.")


def owner_roles(initiative: Initiative, user: str) -> list[SignoffRole]:
    """The roles ``user`` holds on ``initiative``."""
    return [role for role, owner in ((SignoffRole.PRODUCT, initiative.product_owner),
                                     (SignoffRole.ENGINEERING, initiative.engineering_owner))
            if owner and owner == user]


def signing_roles(actor: Actor, initiative: Initiative,
                  role: SignoffRole | None = None) -> list[SignoffRole]:
    """The roles ``actor`` signs in (``role``: only that one), or :class:`Forbidden`.

    Only the owner of a role signs in it: an admin or the operator may not sign for them,
    or the two-party agreement would need one person.
    """
    roles = owner_roles(initiative, actor.user)
    if role is not None:
        if role not in roles:
            owner = (initiative.product_owner if role is SignoffRole.PRODUCT
                     else initiative.engineering_owner)
            raise Forbidden(f"Only the {role.value} owner of {initiative.key} "
                            f"({owner or 'not named yet'}) can sign as {role.value}.")
        return [role]
    if not roles:
        raise Forbidden(f"Only the owners of {initiative.key} (product "
                        f"{initiative.product_owner}, engineering "
                        f"{initiative.engineering_owner}) can agree to its criteria.")
    return roles


_YES, _NO = "yes", "—"


def permission_table_markdown() -> str:
    """The table as Markdown (docs/security.md quotes it): a row per action, a column per
    kind of person."""
    cells = {
        Who.MEMBER: (_YES, _YES, _YES, _YES),
        Who.OWNERS: (_NO, "yes ¹", _YES, _YES),
        Who.ADMIN: (_NO, _NO, _YES, _YES),
        Who.SIGNER: (_NO, "their own role", "their own role ²", "their own role ²"),
    }
    lines = ["| Action | Member | Owner of the initiative | Admin | Operator (CLI) |",
             "|---|---|---|---|---|"]
    lines += [f"| {rule.label} | " + " | ".join(cells[rule.who]) + " |"
              for rule in TABLE.values()]
    lines += [
        "",
        "¹ Until both owners are named, the initiative's creator and the owner already "
        "named count as its owners. The product and engineering owner are two different "
        "people.",
        "² Only when they are that owner themselves: nobody signs for an owner.",
        "",
        WHO_ADMINS_ARE,
    ]
    return "\n".join(lines)
