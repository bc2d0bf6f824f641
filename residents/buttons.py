"""The residents feature's buttons: typed postback data (bot.postback), prefix "rs."."""

from __future__ import annotations

from dataclasses import dataclass

from bot.postback import PostbackData


@dataclass(frozen=True)
class ApplyForm(PostbackData, prefix="rs.apply"):
    form: str


@dataclass(frozen=True)
class EditMenu(PostbackData, prefix="rs.edit"):
    """Ask which item of My data to change."""


@dataclass(frozen=True)
class EditField(PostbackData, prefix="rs.field"):
    field: str


@dataclass(frozen=True)
class EditChild(PostbackData, prefix="rs.child"):
    child: int


@dataclass(frozen=True)
class EditChildField(PostbackData, prefix="rs.chfield"):
    child: int
    field: str


@dataclass(frozen=True)
class AddChild(PostbackData, prefix="rs.addchild"):
    pass


@dataclass(frozen=True)
class Invite(PostbackData, prefix="rs.invite"):
    pass


@dataclass(frozen=True)
class DeleteAsk(PostbackData, prefix="rs.delete"):
    pass


@dataclass(frozen=True)
class DeleteYes(PostbackData, prefix="rs.erase"):
    pass


@dataclass(frozen=True)
class Keep(PostbackData, prefix="rs.keep"):
    pass


@dataclass(frozen=True)
class PartnerList(PostbackData, prefix="rs.partners"):
    pass


@dataclass(frozen=True)
class Unshare(PostbackData, prefix="rs.unshare"):
    # Text, not int: a forged id gets the removal's own refusal, which names nobody.
    partner: str


@dataclass(frozen=True)
class UnshareYes(PostbackData, prefix="rs.unshareyes"):
    partner: str


@dataclass(frozen=True)
class UnshareKeep(PostbackData, prefix="rs.unsharekeep"):
    pass
