"""Partners through the emulator: the inviting guardian is told who joined, sees the partners
in My data and removes one (confirmed, pushed, logged); forged and stale buttons change nothing."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, utcnow
from models.audit import AuditLog
from models.conversation import Conversation
from models.household import Guardian, Household, InviteCode
from residents.buttons import PartnerList, Unshare, UnshareKeep, UnshareYes
from tests.builders import event, post_webhook
from tests.chat import Resident
from tests.checkin_support import family
from tests.flows_helpers import guardian, query, register, seed_city
from tests.test_applications import drain

PARTNER_STEPS = ("山田一郎", "やまだ いちろう", "080-9999-0000", "505-0041", "太田町1-2-3")


@pytest.fixture
def city(live_app, app):
    seed_city(app)
    return live_app


def invite_code(person: Resident) -> str:
    person.menu("mydata")
    person.tap("パートナー招待")
    return person.last()


def join(line, code: str, name: str = "山田一郎") -> Resident:
    """A new resident joins a household with the code."""
    partner = Resident(line, name=name)
    partner.say(code)
    partner.say(name)
    for text in PARTNER_STEPS[1:]:
        partner.say(text)
    partner.tap("太田")
    partner.tap("はい")
    partner.tap("送信")
    assert partner.last() == "パートナーの世帯に参加しました。お子さんの登録を共有しています。"
    return partner


def household_pair(line, app) -> tuple[Resident, Resident]:
    first = Resident(line, name="山田花子")
    register(first, children=1)
    partner = join(line, invite_code(first))
    drain(app)
    return first, partner


def guardian_id(app, person: Resident) -> int:
    return guardian(app, person.user_id)["id"]


def actions(app, action: str) -> list[AuditLog]:
    return query(app, lambda s: [(e.target, e.detail, e.username) for e in s.scalars(
        select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))])


@pytest.mark.http  # end to end over real HTTP; the file's other chat tests run in-process
def test_inviting_guardian_is_told_who_joined_and_removes_them(city, line, app):
    first, partner = household_pair(line, app)
    told = first.last()
    assert told.startswith("山田一郎さんが招待コードで世帯に参加しました（")
    assert "マイデータ →「パートナー」から外してください。" in told
    [(target, detail, username)] = actions(app, "household.partner_joined")
    household = guardian(app, first.user_id)["household_id"]
    assert target == f"household:{household}" and username is None
    assert detail == {"guardian": guardian_id(app, partner)}
    first.tap("パートナー")  # the button on the pushed notice
    listed = first.last()
    assert listed.startswith("【パートナー】\n1. 山田一郎（") and "08099990000" not in listed
    first.tap("山田一郎さんを外す")
    assert first.last().startswith("山田一郎さんを世帯から外しますか？")
    first.tap("外す")
    assert first.last().startswith("山田一郎さんを世帯から外しました。")
    # Access ends at once: the partner's My data no longer shows the child.
    theirs, mine = guardian(app, partner.user_id), guardian(app, first.user_id)
    assert theirs["household_id"] != mine["household_id"] and theirs["children"] == []
    assert theirs["name"] == "山田一郎" and len(mine["children"]) == 1
    partner.menu("mydata")
    assert "山田太郎" not in partner.last() and "山田花子" not in partner.last()
    drain(app)
    assert partner.last().startswith("招待コードで参加した世帯から外されました。")
    [(_target, detail, _user)] = actions(app, "household.partner_removed")
    assert detail == {"guardian": theirs["id"], "by": mine["id"]}
    first.menu("mydata")
    assert "パートナー" not in first.labels() and "パートナー：" not in first.last()


def test_removal_cancels_unused_codes_and_the_partners_running_form(city, line, app):
    first, partner = household_pair(line, app)
    spare = invite_code(first)
    partner.menu("mydata")
    partner.tap("変更する")
    partner.tap("山田太郎")  # the partner starts changing the shared child ...
    partner.tap("ふりがな")
    first.menu("mydata")
    first.tap("パートナー")
    first.tap("山田一郎さんを外す")
    first.tap("外す")
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.resident_id == _resident_id(s, partner)))) == 0
    partner.say("ヤマダ タロ")  # ... and the answer no longer reaches the child
    assert guardian(app, first.user_id)["children"][0][1] == "ヤマダ タロウ"
    stranger = Resident(line, name="誰か")
    stranger.say(spare)
    assert stranger.last().startswith("申し訳ありません。その招待コードは期限切れか")
    unused = query(app, lambda s: list(s.scalars(select(InviteCode.expires_at).where(
        InviteCode.used_at.is_(None)))))
    assert len(unused) == 1 and unused[0] <= utcnow()


def _resident_id(session, person: Resident) -> int:
    from models import Resident as ResidentRow
    return session.scalars(select(ResidentRow.id).where(
        ResidentRow.line_user_id == person.user_id)).one()


def test_forged_and_stale_removals_change_nothing_and_name_nobody(city, line, app):
    first, partner = household_pair(line, app)
    other = Resident(line, name="佐藤")
    register(other, children=1, name="佐藤洋子")
    outsider = guardian_id(app, other)
    refusal = "その方はあなたが外せるパートナーではありません（すでに外されている可能性があります）。何も変更していません。"
    for value in (str(outsider), str(guardian_id(app, first)), "abc", "-1", "0",
                  "99999999999999999999", ""):
        for op in ("unshare", "unshare_yes"):
            first.postback({"unshare": Unshare, "unshare_yes": UnshareYes}[op](value).pack())
            assert first.last() == refusal, (op, value)
    # The partner who joined later cannot push out the guardian who invited them.
    partner.postback(UnshareYes(str(guardian_id(app, first))).pack())
    assert partner.last() == refusal
    partner.tap("パートナー")
    assert "外す" not in " ".join(partner.labels()) and "山田花子（" in partner.last()
    # A confirmation button kept from before the removal is stale afterwards.
    first.menu("mydata")
    first.tap("パートナー")
    first.tap("山田一郎さんを外す")
    first.tap("外す")
    first.postback(UnshareYes(str(guardian_id(app, partner))).pack())
    assert first.last() == refusal
    first.postback(UnshareKeep().pack())
    assert first.last() == "何も変更していません。"
    assert len(actions(app, "household.partner_removed")) == 1
    assert guardian(app, other.user_id)["household_id"] != guardian(app, first.user_id)[
        "household_id"]
    assert "佐藤洋子" not in "\n".join(first.texts())
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(Guardian))) == 3


def test_a_guardian_without_partners_is_offered_an_invite(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("mydata")
    assert "パートナー" not in person.labels()
    person.postback(PartnerList().pack())
    assert person.last().startswith("世帯を共有している人はいません。")
    assert person.labels() == ["パートナー招待"]


def test_two_guardians_removing_the_same_partner_at_once_remove_them_once(city, line, app):
    founder, second, third = Resident(line), Resident(line), Resident(line)
    household = family(app, [founder.user_id, second.user_id, third.user_id])
    target = guardian_id(app, third)
    data = UnshareYes(str(target)).pack()
    bodies = [json.dumps({"events": [event("postback", u, postback={"data": data})]}).encode()
              for u in (founder.user_id, second.user_id)]
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def deliver(body: bytes) -> None:
        barrier.wait()
        statuses.append(post_webhook(city.url, body).status_code)

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200, 200]
    # The made-up reply tokens are refused, so the answers went to the outbox as pushes.
    texts = query(app, lambda s: [m.messages[0]["text"] for m in s.scalars(select(OutboxMessage))
                                  if set(m.recipients) & {founder.user_id, second.user_id}])
    assert sum(t.startswith("保護者3さんを世帯から外しました。") for t in texts) == 1
    assert sum(t.startswith("その方はあなたが外せるパートナーではありません") for t in texts) == 1
    assert len(actions(app, "household.partner_removed")) == 1
    moved = guardian(app, third.user_id)["household_id"]
    assert moved != household and guardian(app, founder.user_id)["household_id"] == household
    # The loser's provisional household is gone: the original and the partner's own remain.
    assert query(app, lambda s: s.scalar(select(func.count()).select_from(Household))) == 2
    sources = query(app, lambda s: list(s.scalars(select(OutboxMessage.source).where(
        OutboxMessage.source == f"partner-removed:{target}"))))
    assert len(sources) == 2  # the removed partner, and the one guardian who did not remove
