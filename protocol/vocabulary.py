"""Domain words shared by both sides. Values are the wire strings; the Chinese terms are from the glossary."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    ACCEPTED = "accepted"  # 受理: creates the case, starts the clock
    UPDATED = "updated"  # the agent's own change of an open case's fields (a due date the calendar now reaches)
    CORRECTED = "corrected"  # 更正: staff correct the case's fields, with a reason (protocol.corrections)
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 补正 with the one-time notice: the clock stops
    SUPPLEMENT_RECEIVED = "supplement_received"  # materials arrived: the clock restarts the next day
    COMPLETED = "completed"  # 办结
    REJECTED = "rejected"  # 不予受理
    WITHDRAWN = "withdrawn"  # 撤回
    EVALUATED = "evaluated"  # 好差评: one rating of a step of the case; several per case (一次一评, 一事多评)
    FOLLOWED_UP = "followed_up"  # 回访 of a bad rating
    CONSULTED = "consulted"  # 咨询: a counter entry, not a case
    SETTLED = "settled"  # 冲突已处理: staff accepted the county's state, or redid the action (the case is unchanged)


class CaseState(StrEnum):
    IN_PROGRESS = "in_progress"  # 办理中
    SUSPENDED = "suspended"  # waiting for supplement materials (补正中)
    COMPLETED = "completed"  # 办结
    REJECTED = "rejected"  # 不予受理
    WITHDRAWN = "withdrawn"  # 撤回


OPEN_STATES = frozenset({CaseState.IN_PROGRESS, CaseState.SUSPENDED})


class Outcome(StrEnum):
    """How staff settled a conflict (县级未采纳的操作)."""

    ACCEPTED = "accepted"  # 以县级为准: the county's state stands, the action is dropped
    REDONE = "redone"  # 按当前状态重做: the action was done again on the current state (`redo_event_id`)


class Channel(StrEnum):
    WINDOW = "window"  # 窗口
    ONLINE = "online"  # 网上
    PROXY = "proxy"  # 代办 / 帮办
    HOME_VISIT = "home_visit"  # 上门
    SELF_SERVICE = "self_service"  # 自助


class Result(StrEnum):
    APPROVED = "approved"
    NOT_APPROVED = "not_approved"


class Level(StrEnum):
    PROVINCE = "province"  # 省
    PREFECTURE = "prefecture"  # 市、州
    COUNTY = "county"  # 县、市、区
    TOWNSHIP = "township"  # 乡、镇、街道
    VILLAGE = "village"  # 村、社区


# Division code prefix length per level (统计用区划代码: province 2, prefecture 4, county 6, township 9, village 12).
LEVEL_PREFIX_LEN = {Level.PROVINCE: 2, Level.PREFECTURE: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}
# The level one down: what a unit's table lists.
CHILD_LEVEL = {Level.PROVINCE: Level.PREFECTURE, Level.PREFECTURE: Level.COUNTY, Level.COUNTY: Level.TOWNSHIP,
               Level.TOWNSHIP: Level.VILLAGE}


class Rating(StrEnum):
    """The national five-level 好差评 scale, stored as 1..5 (5 = 非常满意)."""

    VERY_SATISFIED = "5"
    SATISFIED = "4"
    BASICALLY_SATISFIED = "3"
    DISSATISFIED = "2"
    VERY_DISSATISFIED = "1"


BAD_RATINGS = frozenset({1, 2})  # 不满意, 非常不满意: must be followed up


class RatingStep(StrEnum):
    """What a rating is of: one service occasion of the case (一次一评), or the whole case (一事一评)."""

    INTAKE = "intake"  # 接件
    ACCEPTANCE = "acceptance"  # 受理
    COMPLETION = "completion"  # 办结
    CASE = "case"  # 整个办件 (an agent before ratings per step: its one rating)


# Steps a resident can rate only once the case is completed.
STEPS_AFTER_COMPLETION = frozenset({RatingStep.COMPLETION, RatingStep.CASE})


class RatingChannel(StrEnum):
    """Where a rating was given (评价渠道)."""

    WINDOW = "window"  # 窗口评价器 (the rating pad or the second screen at the window)
    PHONE = "phone"  # 群众手机 (scanning the window's code)
    ONLINE = "online"  # 网上 (the online platform's rating step)
    CALLBACK = "callback"  # 电话回访 (staff rang the resident and entered the answer)


RATING_STEP_LABELS = {"intake": "接件", "acceptance": "受理", "completion": "办结", "case": "整个办件"}
RATING_CHANNEL_LABELS = {"window": "窗口评价器", "phone": "手机", "online": "网上", "callback": "电话回访"}


class EnteredBy(StrEnum):
    """Who entered a rating: the resident themselves (主动评价), or staff on the resident's word."""

    RESIDENT = "resident"
    STAFF = "staff"


def level_of(division_code: str) -> Level:
    """The level of a 12-digit division code: trailing zeros tell how deep it is."""
    if division_code[2:] == "0000000000":
        return Level.PROVINCE
    if division_code[4:] == "00000000":
        return Level.PREFECTURE
    if division_code[6:] == "000000":
        return Level.COUNTY
    if division_code[9:] == "000":
        return Level.TOWNSHIP
    return Level.VILLAGE


def township_of(division_code: str) -> str:
    """The 9-digit township prefix of a township or village code."""
    return division_code[:9]
