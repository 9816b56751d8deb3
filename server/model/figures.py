"""The published figures, computed once from summed rollup counters; pure.

Every figure the API, the dashboard, the summary and the exports show is made here from the counters of
`server.model.rollups.METRICS`, so there is one definition of each (see docs/figures.md). The definitions that reports
use two ways (网办率 over accepted or over completed cases, 主动评价率, whether 好评率 counts 基本满意, how 承诺提速率
averages) are a county's choice: they come from the `[figures]` settings as a `Definitions`, and every answer names
the choice it used beside the figure (`definitions_named`).

Periods: a day, a month, a quarter, a year or a range of days, always inclusive dates in China time.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import msgspec

from protocol.messages import ServiceItem
from protocol.vocabulary import BAD_RATINGS, RATING_CHANNEL_LABELS, RATING_STEP_LABELS, Channel
from server.model.reference import CATEGORIES

RATE_DIGITS = 4
ACTIVE_EVALUATION_CHOICES = {
    "rated_over_completed": "主动评价率 = 已评价办件数 ÷ 办结量（同一期间：办件按首次评价日，办结按办结日）",
    "active_over_ratings": "主动评价率 = 群众本人评价数 ÷ 评价数（群众在评价器、手机或网上自己给出的评价；"
                           "工作人员代录、电话回访录入的不算主动评价）",
}
GOOD_RATING_CHOICES = {
    True: "好评率 = (非常满意 + 满意 + 基本满意) ÷ 评价数",
    False: "好评率 = (非常满意 + 满意) ÷ 评价数（基本满意不计为好评）",
}
# 网办率: 阿坝州 2021 divides the online cases by the completed ones (3,030,301 ÷ 3,537,028 = 85.67 %), other reports by
# the accepted ones; each base counts its own cases (accepted online by acceptance day, completed by completion day).
ONLINE_SHARE_CHOICES = {
    "accepted": "网上办理率 = 网上受理 ÷ 受理量（按受理日期）",
    "completed": "网上办理率 = 网上受理的办结件 ÷ 办结量（按办结日期，如阿坝州 2021 年 85.67%）",
}
PROMISE_SPEEDUP_CHOICES = {
    "mean_of_items": "承诺提速率 = 各事项 (法定时限 − 承诺时限) ÷ 法定时限 的平均",
    "ratio_of_totals": "承诺提速率 = (法定时限合计 − 承诺时限合计) ÷ 法定时限合计（平均时限的压缩比）",
}
# Short names for column headers: 网上办理率(÷办结量)
SHORT_LABELS = {
    ("active_evaluation_rate", "rated_over_completed"): "已评价办件/办结量",
    ("active_evaluation_rate", "active_over_ratings"): "群众本人/全部评价",
    ("good_rating_rate", "includes_basic"): "含基本满意",
    ("good_rating_rate", "excludes_basic"): "不含基本满意",
    ("online_share", "accepted"): "÷受理量",
    ("online_share", "completed"): "÷办结量",
    ("promise_speedup", "mean_of_items"): "事项平均",
    ("promise_speedup", "ratio_of_totals"): "时限合计",
}
CHANNEL_LABELS = {Channel.WINDOW.value: "窗口", Channel.ONLINE.value: "网上", Channel.PROXY.value: "代办帮办",
                  Channel.HOME_VISIT.value: "上门", Channel.SELF_SERVICE.value: "自助"}
CATEGORY_LABELS = {"行政许可": "行政许可", "公共服务": "公共服务", "其他": "其他服务"}
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}  # the national 好差评 scale


@dataclass(frozen=True)
class Definitions:
    """The county's choices for figures whose definition varies (server config `[figures]`)."""

    active_evaluation_rate: str = "rated_over_completed"
    good_includes_basic: bool = True
    online_share_base: str = "accepted"
    promise_speedup: str = "mean_of_items"

    @property
    def good_ratings(self) -> tuple[int, ...]:
        return (5, 4, 3) if self.good_includes_basic else (5, 4)


class Definition(msgspec.Struct, omit_defaults=False):
    figure: str  # the Figures / ItemFigures field it defines
    choice: str
    text: str  # the whole definition, in Chinese
    label: str = ""  # short, for a column header: 网上办理率(÷办结量)


def definitions_named(d: Definitions) -> list[Definition]:
    """The choices behind the figures, as the API and the dashboard name them beside the figures."""
    good = "includes_basic" if d.good_includes_basic else "excludes_basic"
    named = [("online_share", d.online_share_base, ONLINE_SHARE_CHOICES[d.online_share_base]),
             ("active_evaluation_rate", d.active_evaluation_rate,
              ACTIVE_EVALUATION_CHOICES[d.active_evaluation_rate]),
             ("good_rating_rate", good, GOOD_RATING_CHOICES[d.good_includes_basic]),
             ("promise_speedup", d.promise_speedup, PROMISE_SPEEDUP_CHOICES[d.promise_speedup])]
    return [Definition(figure, choice, text, SHORT_LABELS[figure, choice]) for figure, choice, text in named]


class Figures(msgspec.Struct, omit_defaults=False):
    """The case figures of one org unit (or one category, channel, month) for one period. Counts by the date the
    glossary names: accepted by acceptance day, completed by completion day, ratings by rating day. Rates are
    fractions rounded to 4 digits, null when their denominator is 0."""

    accepted: int = 0  # 受理量 (不予受理 cases excluded)
    completed: int = 0  # 办结量
    completed_on_time: int = 0  # 按时办结
    completed_late: int = 0  # 超期办结
    completed_no_due_date: int = 0  # 办结 without a due date (calendar missing): neither on time nor late
    in_progress: int = 0  # 在办: accepted in the period and still open (办理中 or 补正中)
    overdue_open: int = 0  # 超期未办结: open cases due before `as_of` (from the cases, not the rollups)
    rejected: int = 0  # 不予受理
    withdrawn: int = 0  # 撤回
    online: int = 0  # accepted through the online channel (网上)
    online_completed: int = 0  # completed, accepted through the online channel
    trips_le1: int = 0  # completed with at most one trip (最多跑一次)
    evaluations: int = 0  # 评价数: ratings (a case may have several), by rating day
    rated_cases: int = 0  # 已评价办件: cases with a rating, by their first rating day
    resident_ratings: int = 0  # ratings the resident entered (主动评价)
    ratings: dict[str, int] = {}  # "5".."1" -> count (非常满意 .. 非常不满意)
    ratings_by_channel: dict[str, int] = {}  # window, phone, online, callback -> count
    ratings_by_step: dict[str, int] = {}  # intake, acceptance, completion, case -> count
    good_ratings: int = 0
    bad_ratings: int = 0  # 差评 (不满意, 非常不满意)
    bad_followed_up: int = 0  # of those bad ratings, followed up (回访) by now
    bad_pending: int = 0  # of those bad ratings, still waiting for their follow-up
    bad_followed_up_on_time: int = 0  # follow-ups done by the rule's last day, by follow-up day
    consultations: int = 0  # 咨询量
    completion_rate: float | None = None  # 办结率 = completed / accepted
    on_time_rate: float | None = None  # 按时办结率 = completed on time / completed
    overdue_rate: float | None = None  # 超期办结率 = completed late / completed
    online_share: float | None = None  # 网上办理率 = online / accepted, or online_completed / completed (Definitions)
    one_trip_share: float | None = None  # 最多跑一次率 = trips <= 1 / completed
    active_evaluation_rate: float | None = None  # 主动评价率, per Definitions
    good_rating_rate: float | None = None  # 好评率, per Definitions
    bad_follow_up_rate: float | None = None  # 差评整改率 = followed up / bad ratings
    # 差评按时回访率 = follow-ups done by the rule's last day / follow-ups done, both by follow-up day
    bad_follow_up_on_time_rate: float | None = None


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, RATE_DIGITS) if whole else None


def figures_from(counters: Mapping[str, int], d: Definitions, *, overdue_open: int = 0) -> Figures:
    """Figures from summed rollup counters (`server.model.rollups.METRICS`, plus `online_accepted` and
    `online_completed`: the accepted and completed counters of the online channel over the same rows);
    `overdue_open` comes from the open cases."""
    c = counters.get
    online, online_completed = c("online_accepted", 0), c("online_completed", 0)
    accepted, completed, rated = c("accepted", 0), c("completed", 0), c("rated", 0)
    on_time, late = c("completed_on_time", 0), c("completed_late", 0)
    ratings = {str(r): c(f"rated_{r}", 0) for r in (5, 4, 3, 2, 1)}
    good = sum(ratings[str(r)] for r in d.good_ratings)
    bad = sum(ratings[str(r)] for r in BAD_RATINGS)
    pending = c("bad_pending", 0)
    rated_cases, resident = c("rated_cases", 0), c("rated_by_resident", 0)
    active = (rate(rated_cases, completed) if d.active_evaluation_rate == "rated_over_completed"
              else rate(resident, rated))
    followed, on_time_follow_ups = bad - pending, c("bad_followed_up_on_time", 0)
    online_share = (rate(online, accepted) if d.online_share_base == "accepted"
                    else rate(online_completed, completed))
    return Figures(
        accepted=accepted, completed=completed, completed_on_time=on_time, completed_late=late,
        completed_no_due_date=completed - on_time - late, in_progress=c("in_progress", 0), overdue_open=overdue_open,
        rejected=c("rejected", 0), withdrawn=c("withdrawn", 0), online=online, online_completed=online_completed,
        trips_le1=c("trips_le1", 0),
        evaluations=rated, rated_cases=rated_cases, resident_ratings=resident, ratings=ratings,
        ratings_by_channel={k: c(f"rated_via_{k}", 0) for k in RATING_CHANNEL_LABELS},
        ratings_by_step={k: c(f"rated_at_{k}", 0) for k in RATING_STEP_LABELS},
        good_ratings=good, bad_ratings=bad, bad_followed_up=followed, bad_pending=pending,
        bad_followed_up_on_time=on_time_follow_ups, consultations=c("consultations", 0),
        completion_rate=rate(completed, accepted), on_time_rate=rate(on_time, completed),
        overdue_rate=rate(late, completed), online_share=online_share,
        one_trip_share=rate(c("trips_le1", 0), completed), active_evaluation_rate=active,
        good_rating_rate=rate(good, rated), bad_follow_up_rate=rate(followed, bad),
        bad_follow_up_on_time_rate=rate(on_time_follow_ups, c("bad_followed_up", 0)))


def add_counters(total: dict[str, int], part: Mapping[str, int]) -> None:
    for metric, n in part.items():
        total[metric] = total.get(metric, 0) + n


# ---- periods -------------------------------------------------------------------------------------------------

class Period(msgspec.Struct, frozen=True, omit_defaults=False):
    date_from: str
    date_to: str
    label: str  # in Chinese, e.g. 2026年, 2026年第一季度, 2026年3月, 2026-03-01 至 2026-03-15
    is_year: bool = False


_QUARTERS = "一二三四"
# The years a figure's period may lie in: wide enough for any real question, narrow enough that every day and month
# arithmetic on them stays inside what `datetime.date` holds (year 1 to 9999).
FIRST_YEAR, LAST_YEAR = 1900, 2999


class PeriodError(ValueError):
    """A period the dashboard cannot use: `field` is the filter at fault (period, from, to), `message` says in
    Chinese what to fix; the dashboard shows it on that filter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_DATE_NAMES = {"from": "开始日期", "to": "结束日期"}


def parse_period(period: str | None, date_from: str | None, date_to: str | None) -> Period:
    """`period` is YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD; otherwise `date_from` and `date_to` (YYYY-MM-DD, inclusive),
    within the years FIRST_YEAR to LAST_YEAR. Raises PeriodError saying, in Chinese, what to send."""
    parsed = _parse_period(period, date_from, date_to)
    if not FIRST_YEAR <= int(parsed.date_from[:4]) <= int(parsed.date_to[:4]) <= LAST_YEAR:
        raise PeriodError("period" if period else "from", f"统计期间 {parsed.date_from} 至 {parsed.date_to} 超出范围："
                                                          f"只能查 {FIRST_YEAR} 至 {LAST_YEAR} 年")
    return parsed


def check_day(name: str, value: str) -> str:
    """`value` if it is a day YYYY-MM-DD within FIRST_YEAR to LAST_YEAR; else PeriodError naming `name`."""
    try:
        day = date.fromisoformat(value)
        if len(value) != 10 or not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError
    except ValueError:
        label = _DATE_NAMES.get(name, "判断日期" if name == "as_of" else name)
        raise PeriodError(name, f"{label}「{value[:40]}」不是有效的日期，应为 {FIRST_YEAR} 至 {LAST_YEAR} 年间的"
                                "年-月-日（2026-03-05）") from None
    return value


def _parse_period(period: str | None, date_from: str | None, date_to: str | None) -> Period:
    if period:
        if date_from or date_to:
            raise PeriodError("period", "统计期间和起止日期只能选一种")
        p = period.strip()
        try:
            if len(p) == 4 and p.isdigit():
                y = int(p)
                return Period(f"{y:04d}-01-01", f"{y:04d}-12-31", f"{y}年", is_year=True)
            if len(p) == 7 and p[4:6] in ("-Q", "-q") and p[6] in "1234":
                y, q = int(p[:4]), int(p[6])
                last = date(y, 3 * q, calendar.monthrange(y, 3 * q)[1])
                return Period(date(y, 3 * q - 2, 1).isoformat(), last.isoformat(), f"{y}年第{_QUARTERS[q - 1]}季度")
            if len(p) == 7:
                first = date.fromisoformat(p + "-01")
                last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
                return Period(first.isoformat(), last.isoformat(), f"{first.year}年{first.month}月")
            if len(p) == 10:
                day = date.fromisoformat(p)
                return Period(p, p, f"{day.year}年{day.month}月{day.day}日")
        except ValueError:
            pass
        raise PeriodError("period", f"统计期间「{period}」无法识别：应为年（2026）、季度（2026-Q1）、月（2026-03）"
                                    "或日（2026-03-05）")
    days = []
    for name, value in (("from", date_from), ("to", date_to)):
        if not value:
            raise PeriodError(name, f"请填写{_DATE_NAMES[name]}（自定义期间需要开始和结束两个日期）")
        try:
            if len(value) != 10:
                raise ValueError
            days.append(date.fromisoformat(value))
        except ValueError:
            raise PeriodError(name, f"{_DATE_NAMES[name]}「{value}」不是有效的日期，"
                                    "应为 年-月-日（2026-03-05）") from None
    first, last = days
    if first > last:
        raise PeriodError("from", f"开始日期 {first} 晚于结束日期 {last}：请把开始日期改早，或把结束日期改晚")
    is_year = first.month == 1 and first.day == 1 and last == date(first.year, 12, 31)
    if is_year:
        return Period(first.isoformat(), last.isoformat(), f"{first.year}年", is_year=True)
    return Period(first.isoformat(), last.isoformat(), f"{first.isoformat()} 至 {last.isoformat()}")


def months_of(date_from: str, date_to: str) -> list[str]:
    """Every YYYY-MM touched by the period, in order."""
    out, day, last = [], date.fromisoformat(date_from).replace(day=1), date.fromisoformat(date_to)
    while day <= last:
        out.append(day.isoformat()[:7])
        day = _next_month(day)
    return out


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# ---- item figures (the catalog, not cases) -------------------------------------------------------------------

class ItemFigures(msgspec.Struct, omit_defaults=False):
    """Figures over catalogue items, never mixed with case figures, as 阿坝州 2021 publishes them: 可网办事项 and its
    share, 全程网办, 最多跑一次, 承诺提速 (items promising less than the legal limit) and 承诺提速率. Over the catalog
    as it stood on a day (each item's version then)."""

    items: int
    online_capable: int  # 可网办
    online_capable_share: float | None
    fully_online: int
    fully_online_share: float | None
    one_trip: int
    one_trip_share: float | None
    # 承诺提速率 over items with a legal limit > 0 (Definitions.promise_speedup): the mean of
    # (legal − promised) / legal, or (Σ legal − Σ promised) / Σ legal
    promise_speedup: float | None
    speedup_items: int  # the items it is over
    promise_faster: int = 0  # 承诺提速事项: items with a legal limit whose promised limit is shorter
    promise_faster_share: float | None = None  # of the items with a legal limit


def item_figures(items: Iterable[ServiceItem], d: Definitions | None = None) -> ItemFigures:
    d = d or Definitions()
    items = list(items)
    online = sum(1 for i in items if i.is_online)
    capable = sum(1 for i in items if i.is_online_capable or i.is_online)
    one_trip = sum(1 for i in items if i.is_one_trip)
    limited = [(i.legal_days, i.promised_days) for i in items if i.legal_days]
    if not limited:
        speedup = None
    elif d.promise_speedup == "ratio_of_totals":
        legal = sum(x for x, _ in limited)
        speedup = round((legal - sum(p for _, p in limited)) / legal, RATE_DIGITS)
    else:
        speedup = round(sum((x - p) / x for x, p in limited) / len(limited), RATE_DIGITS)
    faster = sum(1 for x, p in limited if p < x)
    return ItemFigures(
        items=len(items), online_capable=capable, online_capable_share=rate(capable, len(items)), fully_online=online,
        fully_online_share=rate(online, len(items)), one_trip=one_trip, one_trip_share=rate(one_trip, len(items)),
        promise_speedup=speedup, speedup_items=len(limited), promise_faster=faster,
        promise_faster_share=rate(faster, len(limited)))


# ---- the yearbook sentence -----------------------------------------------------------------------------------

def percent(value: float | None) -> str:
    """0.8567 -> "85.67%", 1.0 -> "100%", None -> "—"."""
    if value is None:
        return "—"
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def period_phrase(period: Period) -> str:
    """A period as a yearbook writes it: 2020年, 2026年第一季度, 2021年1至10月 (whole months of one year), else
    the label (2026-03-01 至 2026-03-15)."""
    first, last = date.fromisoformat(period.date_from), date.fromisoformat(period.date_to)
    whole_months = (first.day == 1 and first.year == last.year
                    and last.day == calendar.monthrange(last.year, last.month)[1])
    if period.is_year or not whole_months or period.label.endswith(("季度", "月")):
        return period.label
    if first.month == last.month:
        return f"{first.year}年{first.month}月"
    return f"{first.year}年{first.month}至{last.month}月"


def yearbook_sentence(period: Period, by_category: Mapping[str, Figures], total: Figures, subject: str = "") -> str:
    """The paragraph a yearbook or a report prints (木里县年鉴 2021, 政务服务工作; 阿坝州 2021 总结), from the data,
    with its subject (the county, the prefecture, the hall): "2020年，木里藏族自治县政务服务大厅全年办理各类行政许可和
    公共服务事项22753件，其中：…，按时办结率100%。" 办理 N 件 is the sum of the completions of the three report
    groups, as the source's numbers add up (2991 + 13261 + 6501 = 22753); then what was accepted and completed in
    all ("1至10月，全州累计受理各类事项3564389件、办结3537028件"), and the consultations. A period without
    completions says so in words, never "按时办结率—"."""
    when = period_phrase(period)
    head = f"{when}，{subject}" + ("全年" if period.is_year else "")
    done = {c: by_category.get(c, Figures()).completed for c in CATEGORIES}
    n = sum(done.values())
    if n:
        text = (f"{head}办理各类行政许可和公共服务事项{n}件，其中：行政许可办结{done['行政许可']}件，"
                f"公共服务事项办结{done['公共服务']}件；其他服务事项办结{done['其他']}件")
        if total.on_time_rate is not None:
            text += f"，按时办结率{percent(total.on_time_rate)}"
        text += f"。累计受理各类事项{total.accepted}件、办结{total.completed}件"
    elif total.accepted:
        text = f"{head}受理各类事项{total.accepted}件，尚无办结"
    else:
        text = f"{head}未受理或办结行政许可和公共服务事项"
    if total.consultations:
        text += f"，受理群众咨询{total.consultations}人次"
    return text + "。"
