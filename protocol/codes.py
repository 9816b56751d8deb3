"""One table of error and refusal codes: HTTP status plus a message a person can act on.

Used for whole-request errors (an `ErrorBody`) and for per-event refusals inside a push response, by the county API
and the agent's local API (whose messages township staff read: in Chinese). `staff` is what township staff read when
the county answers a PC with that code (the county API speaks to scripts and ops in English); the agent's local codes
and the reasons of its sync rounds carry Chinese messages themselves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    status: int
    message: str
    staff: str = ""  # Chinese, for the township page, when the county answers a PC with this code


_CODES = [
    # whole request
    Code("bad_json", 400, "The request body is not valid JSON (gzip-compressed when Content-Encoding says so).",
         "请求内容不是有效的 JSON"),
    Code("bad_request", 422, "The request does not have the expected shape; see `detail`.",
         "县服务器不接受这批数据的格式，请运维核对本机与县服务器的软件版本"),
    Code("unauthorized", 401, "Missing or unknown bearer token. Register the agent with `county-server agents add`.",
         "县服务器不认这台电脑的令牌：请运维在县里重新登记本机（county-server agents add），把令牌填入配置"),
    Code("forbidden", 403, "This token may not do that.", "县服务器不允许这台电脑这样做，请联系运维"),
    Code("not_found", 404, "No such resource.", "没有找到"),
    Code("method_not_allowed", 405, "This resource does not accept that HTTP method; see /api/v1/openapi.json.",
         "不支持这种请求方法"),
    Code("too_large", 413, "The request body is too large (a push: send fewer events per request).",
         "一次上传的内容太大，县服务器拒收：请运维调小本机的 [sync] batch_size"),
    Code("unsupported_encoding", 415, "The body's Content-Encoding is not supported: send it as gzip, deflate or "
         "uncompressed.", "县服务器不接受这种压缩方式，请运维核对本机与县服务器的软件版本"),
    Code("json_required", 415, "请求内容须为 JSON。Send the body as JSON, with `Content-Type: application/json`."),
    Code("body_timeout", 408, "The request body did not arrive in time (a slow or stalled link); nothing was "
         "applied. It is safe to retry.", "网络太慢，数据没有传完；记录都保存在本机，稍后自动重试"),
    Code("quota_exceeded", 429, "This PC has sent its quota for today ([quotas] events_per_day, bytes_per_day of "
         "the server); nothing is lost: it keeps its events and sends them after midnight (China time). If the work "
         "is real, raise the quota.", "本机今天上传的数据已达县里的限额：记录都保存在本机，零点后继续上传"),
    Code("orphan_quota", 429, "Too many of this PC's events are waiting for the acceptance (受理) of their case "
         "([quotas] orphan_events); they stay on the PC until the PC that accepted those cases has uploaded.",
         "本机有太多记录在等其他电脑先上传受理记录；它们保存在本机，稍后继续上传"),
    Code("agent_revoked", 403, "The county revoked this PC (`county-server agents revoke`); its uploads are "
         "refused. The county re-admits it with `county-server agents rotate-token` and a new token.",
         "县里已停用这台电脑的上传：记录都保存在本机，请联系县里的运维重新启用"),
    Code("client_cert_required", 403, "This agent must connect with the TLS client certificate bound to it "
         "(`county-server agents bind-cert`); set [county] cert_file and key_file in the agent's config.",
         "县服务器要求本机使用登记过的客户端证书：请运维在本机配置中填写 [county] cert_file 和 key_file"),
    Code("client_cert_mismatch", 403, "The TLS client certificate is not the one bound to this agent's token.",
         "本机出示的客户端证书不是登记给这台电脑的：请运维核对本机的证书与令牌"),
    Code("agent_mismatch", 403, "The batch names another agent than the token's. Check the agent's configuration.",
         "本机配置的终端编号与令牌不符，请运维检查本机配置"),
    Code("internal", 500, "The server failed; the request was not applied. It is safe to retry.",
         "县服务器出错，这次没有上传成功；记录都保存在本机，稍后自动重试"),
    Code("login_required", 401, "Log in to the dashboard (or send the admin token as a bearer token); a session "
         "ends after a while without use."),
    Code("login_failed", 401, "Wrong name or password. An administrator sets passwords with "
         "`county-server users add` or `users password`."),
    Code("login_throttled", 429, "Too many failed logins for this account or from this address: try again after "
         "Retry-After seconds. An administrator can end the lock with `county-server users enable`."),
    Code("metrics_token_required", 401, "Send `Authorization: Bearer <[metrics] token>` of the server config, or "
         "scrape the metrics listener on `[metrics] host`:`port`."),
    # per event, inside a push response: the agent quarantines these and never retries them as they are
    Code("invalid_event", 422, "The event's fields are invalid; see `detail`.", "县服务器认为这条记录的内容不合规定"),
    Code("wrong_township", 403, "The case belongs to a township or village outside this agent's township.",
         "办理单位或村（社区）不属于本乡镇"),
    Code("unknown_org", 422, "The org unit code is not in the county's org units.",
         "办理单位或村（社区）不在县里的区划名单中"),
    Code("unknown_item", 422, "The service item code is not in the county's catalog.", "事项不在县里的事项目录中"),
    Code("seq_reused", 409, "This agent already sent another event with the same seq: its store was reset or "
         "restored. Give the agent a new identity (`county-server agents add`).",
         "这台电脑的数据被重置或从备份恢复过，县里已有同一序号的其他记录：请运维给本机登记新身份"),
    Code("event_id_reused", 409, "An event with this event_id but other content is already stored.",
         "县服务器已有一条编号相同但内容不同的记录"),
    Code("implausible_time", 422, "The event's time (the PC's clock corrected by its measured offset) is outside "
         "what the county accepts: from 10 years before to 1 day after the server's clock. Set the PC's clock right "
         "and record the action again.", "这条记录的时间不可信（本机时钟可能不准）：请校准电脑时间后重新办理"),
    Code("unknown_grant", 403, "The correction names a grant the county did not give for this case.",
         "县里没有为这个办件授权更正（授权可能已被撤销或属于其他办件）：请联系县级管理员"),
    Code("bad_cursor", 422, "The pull cursor is not one this server hands out; send an empty cursor to pull from "
         "the beginning (events already held are skipped by event_id).",
         "县服务器不认本机保存的同步位置：请运维核对本机与县服务器的软件版本"),
    # scanned materials (申请材料): the county's side of the resumable upload (protocol/materials.py)
    Code("attachment_case_unknown", 409, "The county has no such case of this township yet: push the case's events "
         "first, then offer its attachments.", "县里还没有这个办件的记录：办件记录上传后再上传材料"),
    Code("attachment_too_large", 413, "The file is larger than the county accepts ([attachments] max_file_bytes).",
         "材料文件超过县里允许的大小，没有上传：请缩小扫描分辨率后重新添加"),
    Code("attachment_type", 415, "The file is not one of the accepted kinds (JPEG, PNG, PDF, TIFF, WebP, HEIC), "
         "judged by its content.", "材料文件的类型县里不接受（只收 JPEG、PNG、PDF、TIFF、WebP、HEIC）"),
    Code("attachment_quota", 429, "This PC's attachments reach its quota on the county ([attachments] "
         "quota_bytes_per_agent); its files stay on the PC.",
         "本机上传的材料已达县里的限额：文件保存在本机，请联系县里的运维"),
    Code("upload_unknown", 404, "No upload of this file was offered by this PC: POST /api/v1/attachments first.",
         "县里没有这份材料的上传记录，下次同步时重新开始"),
    Code("upload_offset_mismatch", 409, "The chunk's Upload-Offset is not the number of bytes the county holds; "
         "the answer's Upload-Offset header says where to continue.", "材料上传位置不一致，自动从县里已收到的位置继续"),
    Code("attachment_hash_mismatch", 422, "The bytes received do not have the sha256 offered; they were dropped. "
         "Offer and send the file again.", "县里收到的材料与本机的不一致，已丢弃，下次同步时重新上传"),
    Code("chunk_type_required", 415, "Send a chunk with `Content-Type: application/offset+octet-stream` and an "
         "Upload-Offset header.", "县服务器不接受这种材料上传格式，请运维核对本机与县服务器的软件版本"),
    # the county dashboard's own filters (its users read Chinese); `fields` names the filter at fault
    Code("invalid_filter", 422, "筛选条件有误，请按提示改正（见 detail 与 fields）。"),
    Code("outside_township", 403, "您的账号只能查看本乡镇的数据。"),
    Code("auditor_only", 403, "只有审计员可以查看和导出审计日志。"),
    # the agent's local API (127.0.0.1): read by staff
    Code("host_not_allowed", 403, "这个地址不是本机办件代理的地址。请用 http://127.0.0.1:端口/ 打开办件工作台。"),
    Code("cross_origin", 403, "其他网页不能修改本机的办件数据。请在办件工作台中操作。"),
    Code("invalid_input", 422, "请改正标出的字段"),
    Code("correction_required", 409, "该办件已办结、不予受理、撤回或已评价，不能直接修改：请用「更正」并写明原因"),
    Code("correction_needs_grant", 409, "该办件已办结或已评价，这些字段会改变统计数字，须县级管理员授权后才能更正"),
    Code("case_not_found", 404, "没有找到这个办件"),
    Code("not_quarantined", 404, "这条记录不在被退回的列表中（可能已重新上传或已移出）"),
    Code("conflict_not_found", 404, "没有找到这条待处理的冲突：它可能已在本机或其他窗口处理过，请刷新页面"),
    Code("no_reference", 503, "尚未从县服务器取得事项目录，请在网络连通时同步一次"),
    Code("sign_in_required", 401, "请先登录：用工号和密码（或 PIN）登录办件工作台；脚本用 curl -u 工号:密码。"),
    Code("sign_in_failed", 401, "工号或密码不对，请重新输入。"),
    Code("sign_in_locked", 429, "密码连续输错次数太多，这个工号暂时锁定，请稍后再试，或请负责人重设密码。"),
    Code("staff_disabled", 403, "这个工号已停用，请联系本乡镇的负责人。"),
    Code("lead_required", 403, "只有本乡镇的负责人才能管理工作人员。"),
    Code("staff_not_found", 404, "没有这个工号。"),
    Code("agent_failed", 500, "本机办件服务出错，这次操作没有保存，可以重试；仍不行请联系运维"),
    Code("upload_required", 415, "请从办件页面添加材料文件（其他网页或程序不能上传）。"),
    Code("attachment_not_found", 404, "没有找到这份材料"),
    Code("attachment_rejected", 422, "这份材料没有保存，请按提示处理"),
    # why a sync round of the agent failed (`GET /api/status` last_error_code); the PC keeps every record meanwhile
    Code("county_unreachable", 502, "连不上县服务器：网络不通，或县服务器没有运行。记录都保存在本机，联网后自动上传"),
    Code("county_timeout", 504, "县服务器长时间没有应答（网络太慢或中断）。记录都保存在本机，稍后自动重试"),
    Code("county_unavailable", 503, "县服务器暂时不能处理（出错或正在维护）。记录都保存在本机，稍后自动重试"),
    Code("county_busy", 503, "县服务器正忙，要求稍后再传。记录都保存在本机，稍后自动重试"),
    Code("county_gap", 502, "县服务器缺少本机更早的记录，这次只确认了一部分；下次同步时继续"),
    Code("county_refused", 422, "县服务器拒收了这次同步，请联系运维"),
    Code("identity_retired", 409, "这台电脑的数据库从备份恢复过，原身份不能再上传：请运维给本机登记新身份"),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def status_of(code: str) -> int:
    return CODES[code].status


def message_of(code: str) -> str:
    return CODES[code].message


def staff_message(code: str) -> str:
    """What township staff read for `code`: its Chinese `staff` text, else its message."""
    found = CODES[code]
    return found.staff or found.message
