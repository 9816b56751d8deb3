"""Every dashboard table as an exportable `exports.Table`: the same rows the page shows, Chinese headers, and the
definition choices named in the headers and in the 说明 sheet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from protocol.lifecycle import CHINA_TZ
from server.model.figures import Definition, Figures, Period, percent
from server.reports.exports import Column, Table
from server.reports.followups import FollowUpsResponse
from server.reports.items import ItemsResponse
from server.reports.overview import OverviewResponse, SummaryResponse, UnitsResponse
from server.reports.report import ReportResponse
from server.reports.scope import OrgRef
from server.reports.worklists import AgentsResponse, CaseListResponse, ConflictsResponse

BASIS_NOTES = {"handled": "按办理地:办件计入受理它的单位(政务服务大厅、便民服务中心或村服务站)",
               "residence": "按申请人居住地:办件计入申请人所在的村(社区);未填居住地的计入办理单位所在县"}
TABLES = ("units", "categories", "channels", "trend", "summary", "report", "cases", "agents", "conflicts", "follow_ups",
          "items")


def figure_columns(definitions: Sequence[Definition]) -> list[tuple[str, Column]]:
    """(Figures field, column) for the figure columns of every figures table."""
    label = {d.figure: d.label for d in definitions}
    return [
        ("accepted", Column("受理量", "int")), ("completed", Column("办结量", "int")),
        ("completed_on_time", Column("按时办结", "int")), ("on_time_rate", Column("按时办结率", "rate")),
        ("completed_late", Column("超期办结", "int")), ("in_progress", Column("在办", "int")),
        ("overdue_open", Column("超期未办结", "int")), ("rejected", Column("不予受理", "int")),
        ("withdrawn", Column("撤回", "int")), ("completion_rate", Column("办结率", "rate")),
        ("online", Column("网上受理", "int")), ("online_completed", Column("网上受理的办结件", "int")),
        ("online_share", Column(f"网上办理率({label['online_share']})", "rate")),
        ("one_trip_share", Column("最多跑一次率", "rate")), ("evaluations", Column("评价数", "int")),
        ("active_evaluation_rate", Column(f"主动评价率({label['active_evaluation_rate']})", "rate")),
        ("good_rating_rate", Column(f"好评率({label['good_rating_rate']})", "rate")),
        ("bad_ratings", Column("差评", "int")),
        ("bad_pending", Column("差评待回访", "int")), ("consultations", Column("咨询量", "int")),
    ]


def _figure_row(f: Figures, fields: list[str]) -> list[Any]:
    return [getattr(f, name) for name in fields]


def _notes(org: OrgRef, period: Period, definitions: Sequence[Definition], as_of: str | None = None,
           basis: str | None = None) -> list[tuple[str, str]]:
    notes = [("单位", f"{org.name}({org.code})"),
             ("统计期间", f"{period.label}({period.date_from} 至 {period.date_to})")]
    if basis is not None:
        notes.append(("统计口径", BASIS_NOTES[basis]))
    if as_of is not None:
        notes.append(("超期未办结截至", as_of))
    notes += [(f"口径:{d.text.split(' = ')[0]}", d.text) for d in definitions]  # 口径:网上办理率
    notes.append(("说明", "受理量按受理日期、办结量按办结日期、评价按评价日期统计;不予受理的办件不计入受理量。"))
    return notes


def units_table(r: UnitsResponse | OverviewResponse) -> Table:
    cols = figure_columns(r.definitions)
    fields = [f for f, _ in cols]
    rows = r.rows if isinstance(r, UnitsResponse) else r.children
    body: list[Sequence[Any]] = [[u.org.code, u.org.name, *_figure_row(u.figures, fields)] for u in rows]
    total = r.total if isinstance(r, UnitsResponse) else r.figures
    body.append(["", "合计", *_figure_row(total, fields)])
    return Table(f"{r.org.name}分单位统计", [Column("区划代码", "code"), Column("单位"), *(c for _, c in cols)], body,
                 _notes(r.org, r.period, r.definitions, r.as_of, r.basis))


def breakdown_table(r: OverviewResponse, which: str) -> Table:
    cols = figure_columns(r.definitions)
    fields = [f for f, _ in cols]
    parts, first, name = {"categories": (r.by_category, "事项类别", "分类别统计"),
                          "channels": (r.by_channel, "受理渠道", "分渠道统计"),
                          "trend": (r.trend, "月份", "月度趋势")}[which]
    body = [[b.label, *_figure_row(b.figures, fields)] for b in parts]
    return Table(f"{r.org.name}{name}", [Column(first), *(c for _, c in cols)], body,
                 _notes(r.org, r.period, r.definitions, r.as_of, r.basis))


def summary_table(r: SummaryResponse) -> Table:
    cols = [Column("事项类别"), Column("受理量", "int"), Column("办结量", "int"), Column("按时办结", "int"),
            Column("按时办结率", "rate"), Column("在办", "int")]
    body = [[x.label, x.accepted, x.completed, x.completed_on_time, x.on_time_rate, x.in_progress]
            for x in [*r.rows, r.total]]
    return Table(f"{r.org.name}{r.period.label}办件汇总", cols, body,
                 [("综述", r.sentence), *_notes(r.org, r.period, r.definitions)])


def report_table(r: ReportResponse) -> Table:
    kind = "rate" if r.figure.endswith(("_rate", "_share")) else "int"
    cols = [Column(r.row_header), *(Column(c.label, kind) for c in r.columns), Column("合计", kind)]
    body = [[row.label, *row.cells, row.total] for row in [*r.rows, r.total]]
    notes = [("报表", r.title), ("数字", r.figure_label),
             *_notes(r.org, r.period, r.definitions, basis=r.basis)]
    if r.table == "items":
        notes.append(("事项", "只列期间内有办件的事项;按办件清单同一规则计数"))
    return Table(r.title[:80], cols, body, notes)


def cases_table(r: CaseListResponse, label: str) -> Table:
    cols = [Column("办件编号", "code"), Column("乡镇"), Column("办理单位"), Column("事项"), Column("类别"),
            Column("渠道"), Column("状态"), Column("受理日期", "date"), Column("办结期限", "date"),
            Column("办结日期", "date"), Column("超期天数", "int"), Column("申请人"), Column("证件号码(脱敏)", "code"),
            Column("受理人"), Column("办结人"), Column("评价"), Column("回访日期", "date")]
    body = [[c.case_no, c.township_name, c.org_name, c.item_name, c.category, c.channel_label, c.state_label,
             c.accepted_on, c.due_on, c.completed_on or c.closed_on, c.days_overdue, c.applicant_name,
             c.cert_no_masked, c.staff, c.closed_by, c.rating_label, c.followed_up_on] for c in r.rows]
    period = f"{r.date_from} 至 {r.date_to}" if r.date_from else "不限"
    notes = [("清单", label), ("单位代码", r.org), ("期间", period), ("截至", r.as_of),
             ("条数", f"共 {r.total} 件,本表 {len(r.rows)} 件(从第 {r.offset + 1} 件起)")]
    return Table(label, cols, body, notes)


def _china_time(iso: str | None) -> str:
    """The server records UTC; the county reads China time."""
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def offset_seconds(ms: int) -> float:
    """A clock offset in seconds to one decimal, halves away from zero (as the dashboard's `secondsText`); one that
    rounds to nothing is 0.0, never -0.0 (which a sheet and a CSV would show as "-0.0")."""
    tenths = int(abs(ms) / 100 + 0.5) * (1 if ms > 0 else -1)
    return tenths / 10


def agents_table(r: AgentsResponse) -> Table:
    cols = [Column("乡镇"), Column("终端名称"), Column("终端编号", "code"), Column("最近上传(北京时间)", "date"),
            Column("距今(小时)", "decimal"), Column("待上传事件", "int"), Column("时钟偏差(秒)", "decimal"),
            Column("软件版本"), Column("协议版本", "int"), Column("与县级一致"), Column("待拉取事件", "int"),
            Column("未处理冲突", "int"), Column("状态")]
    agrees = {True: "一致", False: "不一致", None: "未核对"}
    body = [[a.township_name, a.name, a.agent_id, _china_time(a.last_push_at),
             None if a.hours_since_push is None else round(a.hours_since_push, 1), a.pending,
             None if a.clock_offset_ms is None else offset_seconds(a.clock_offset_ms), a.software_version,
             a.protocol_version, agrees[a.digest_agrees], a.pull_lag, a.open_conflicts,
             "已停用" if a.is_revoked else "长时间未同步" if a.is_silent else "正常"] for a in r.rows]
    hint = (f"超过 {r.silent_after_hours} 小时未上传的终端标为长时间未同步;协议版本 1 的终端为旧版,"
            "不能取得其他窗口的办件")
    return Table("终端同步状态", cols, body, [("提示", hint)])


def conflicts_table(r: ConflictsResponse) -> Table:
    cols = [Column("乡镇"), Column("办件编号", "code"), Column("未采纳的操作"), Column("终端"),
            Column("操作时间", "date"), Column("原因"), Column("已采纳的操作"), Column("其终端"),
            Column("其时间", "date"),
            Column("发现时间(北京时间)", "date"), Column("状态"), Column("处理结果"),
            Column("处理时间(北京时间)", "date")]
    body = [[c.township_name, c.case_no, c.kind_label, c.agent_name or c.agent_id, c.at[:16].replace("T", " "),
             c.message, c.lost_to_kind_label or "", c.lost_to_agent_name or c.lost_to_agent_id or "",
             (c.lost_to_at or "")[:16].replace("T", " "), _china_time(c.detected_at),
             "待处理" if c.is_open else "已处理", c.outcome_label or "", _china_time(c.settled_at)] for c in r.rows]
    states = {"open": "待处理", "settled": "已处理", "all": "全部"}
    notes = [("单位", f"{r.org_name}({r.org})"), ("范围", states[r.state]),
             ("条数", f"共 {r.total} 条,本表 {len(r.rows)} 条(从第 {r.offset + 1} 条起)"),
             ("说明", "县级未采纳:两个窗口离线时对同一办件做了不能同时成立的操作,县级按因果顺序采纳了先发生的一个;"
                    "乡镇窗口可按办件当前状态重做,或以县级为准,处理结果作为事件上传。")]
    return Table(f"{r.org_name}县级未采纳的操作", cols, body, notes)


def follow_ups_table(r: FollowUpsResponse) -> Table:
    cols = [Column("乡镇"), Column("办件编号", "code"), Column("事项"), Column("经办人"), Column("申请人"),
            Column("证件号码(脱敏)", "code"), Column("评价"), Column("评价环节"), Column("评价渠道"),
            Column("录入"), Column("评价意见"), Column("评价日期", "date"), Column("回访期限", "date"),
            Column("超期天数", "int")]
    body = [[f.township_name, f.case_no, f.item_name, f.staff, f.applicant_name, f.cert_no_masked, f.rating_label,
             f.step_label, f.channel_label, "群众本人" if f.entered_by == "resident" else "工作人员", f.comment,
             f.rated_on, f.follow_up_due, f.days_overdue] for f in r.rows]
    states = {"overdue": "已超期", "pending": "全部待回访"}
    notes = [("单位", f"{r.org_name}({r.org})"), ("范围", states[r.state]), ("截至", r.as_of),
             ("条数", f"共 {r.total} 条(其中超期 {r.overdue} 条),本表 {len(r.rows)} 条(从第 {r.offset + 1} 条起)"),
             ("规则", f"差评应在评价后 {r.follow_up_workdays} 个工作日内回访(按县级工作日历计算);"
                    "回访期限为空的,日历尚未覆盖该日期")]
    return Table(f"{r.org_name}差评回访清单", cols, body, notes)


def items_table(r: ItemsResponse) -> Table:
    """The catalogue items on `as_of`, then the item figures as the reports print them (count and share)."""
    yes = {True: "是", False: "否"}
    cols = [Column("事项编码", "code"), Column("事项名称"), Column("类别"), Column("版本"), Column("版本起始", "date"),
            Column("可网办"), Column("全程网办"), Column("最多跑一次"), Column("承诺时限(工作日)", "int"),
            Column("法定时限(工作日)", "int"), Column("承诺时限压缩比", "rate")]
    body: list[Sequence[Any]] = [[i.code, i.name, i.category, i.version, i.valid_from, yes[i.is_online_capable],
                                  yes[i.is_online], yes[i.is_one_trip], i.promised_days, i.legal_days, i.speedup]
                                 for i in r.rows]
    f = r.figures
    speedup = next((d for d in r.definitions if d.figure == "promise_speedup"), None)
    notes = [("截至", r.as_of), ("事项数", str(f.items)),
             ("可网办事项", f"{f.online_capable} 项,占比 {percent(f.online_capable_share)}"),
             ("全程网办事项", f"{f.fully_online} 项,占比 {percent(f.fully_online_share)}"),
             ("最多跑一次事项", f"{f.one_trip} 项,占比 {percent(f.one_trip_share)}"),
             ("承诺提速事项", f"{f.promise_faster} 项,占有法定时限事项的 {percent(f.promise_faster_share)}"),
             ("承诺提速率", f"{percent(f.promise_speedup)}({f.speedup_items} 个有法定时限的事项)")]
    if speedup is not None:
        notes.append(("口径:承诺提速率", speedup.text))
    return Table("事项指标", cols, body, notes)
