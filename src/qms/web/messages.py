"""What the pages say, in the workspace's language.

The services answer in one line of English (the CLI's words, which scripts and tests read); a zh-CN
workspace's pages show the same line in Chinese. One table per direction — results of a state change
and the errors a person can fix — keyed by the service's own sentence, so a line the table does not
know yet is still shown (in English) rather than lost. Times in a message are shown in the
workspace's zone. The JSON API keeps the English lines.
"""

from __future__ import annotations

import re

from ..base.dates import local_time
from ..base.errors import QmsError
from ..domain.labels import chinese, status_label

# (service sentence, Chinese) — groups are re-used by number; {t3} shows group 3 as a local time,
# {s3} as a status label
RESULTS = [
    (r"submitted (\S+) (\S+) \(draft\): (.+)", "已提交 {1} {2}（草稿）：{3}，等待签署"),
    (r"replaced the draft of (\S+) (\S+): (.+)", "已替换 {1} {2} 草稿：{3}"),
    (r"signed (\S+) (\S+) as (\S+) \(\w+\): (.+?) \((\S+)\) at (\S+)", "{4} 已以{3}身份签署 {1} {2}（{t6}）"),
    (r"rejected (\S+) (\S+): (\d+) signature\(s\) void, back to draft — (.*)",
     "已驳回 {1} {2}：{3} 个签署作废，退回草稿。原因：{4}"),
    (r"withdrew the draft (\S+) (\S+): (.*)", "已撤回 {1} {2} 草稿：{3}"),
    (r"released (\S+) (\S+): 发布 (\S+), 实施 (\S+)(?: → .*)?", "已发布 {1} {2}：发布日期 {3}，实施日期 {4}"),
    (r"withdrew (\S+) \(作废\) on (\S+): (.*)", "已作废 {1}（{2}）：{3}"),
    (r"issued controlled copy No\.(\d+) of (\S+) (\S+) to (.+?)(?: → .*)?", "已向 {4} 发放 {2} {3} 受控副本 No.{1}"),
    (r"recalled controlled copy No\.(\d+) of (\S+) (\S+) from (.+)", "已从 {4} 回收 {2} {3} 受控副本 No.{1}"),
    (r"hold placed on (\S+): (.*)", "已对 {1} 加入法律保全：{2}"),
    (r"hold released on (\S+): (.*)", "已解除 {1} 的法律保全：{2}"),
    (r"filed (\S+) \((.+)\) → (\w+)", "已归档 {1}（{2}），状态：{s3}"),
    (r"signed (\S+): scan attached \((.+), signed (\S+)\) → filed", "已上传 {1} 的签字扫描件（{2}，{3} 签字），状态：已归档"),
    (r"amended (\S+): version (\d+) \((.*)\)", "已修改 {1}，形成第 {2} 版（{3}）"),
    (r"disposed of (\d+) records; certificate (\S+)(?: → .*)?", "已销毁 {1} 条记录；销毁证明 {2}"),
    (r"nothing to dispose of as of (\S+) \((\d+) already in a pending proposal\)",
     "截至 {1} 没有新的到期可销毁记录（{2} 条已在待审批的销毁申请中）"),
    (r"nothing to dispose of as of (\S+)", "截至 {1} 没有到期可销毁的记录"),
    (r"proposed (\S+): destroy (\d+) records due as of (\S+);.*", "已提出销毁审批 {1}：截至 {3} 到期的 {2} 条记录，待另一位有审批权限的人批准"),
    (r"approved (\S+): disposed of (\d+) records; certificate (\S+)(?: → \S+)?(?:; left out: (.*))?",
     "已批准 {1}：销毁 {2} 条记录，销毁证明 {3}"),
    (r"rejected (\S+): (.*); nothing was destroyed", "已驳回销毁审批 {1}：{2}；未销毁任何记录"),
    (r"redated (\S+) (\S+): 发布 (\S+) → (\S+), 实施 (\S+) → (\S+) \((.*)\)",
     "已更正 {1} {2} 的日期：发布 {3} → {4}，实施 {5} → {6}（{7}）"),
]

ERRORS = [
    (r"expected a date as YYYY-MM-DD(?: \(also [^)]*\))?, got (.+)",
     "日期应写作 YYYY-MM-DD（如 2026-03-20，也可写 2026/3/20 或 2026年3月20日），收到 {1}"),
    (r"(.+) is not a real calendar date", "{1} 不是真实存在的日期"),
    (r"(.+) is out of range: expected a year from (\d+) to (\d+)", "{1} 超出范围：年份应在 {2} 至 {3} 之间"),
    (r"expected a date and time as YYYY-MM-DD HH:MM, got (.+)", "日期时间应写作 YYYY-MM-DD HH:MM，收到 {1}"),
    (r"expected a whole number, got (.+)", "应为整数，收到 {1}"),
    (r"expected a number, got (.+)", "应为数字，收到 {1}"),
    (r"missing required field \((.+), \w+\)", "必填项“{1}”未填写"),
    (r"missing required field", "缺少必填项"),
    (r"(.+) is not one of the choices: (.+)", "{1} 不是可选项之一（可选：{2}）"),
    (r"unknown field for (\S+) (.+); expected one of: (.+)", "{1} {2} 没有这个字段；可用字段：{3}"),
    (r"wrong password for (\S+) \((\d+) of (\d+) before the login is locked\)",
     "密码错误（连续第 {2} 次；连续 {3} 次将锁定账号）"),
    (r"wrong password for (\S+); (\d+) in a row: the login is locked until (\S+)",
     "密码连续错误 {2} 次，账号已锁定至 {t3}"),
    (r"login (\S+) is locked until (\S+) after (\d+) wrong passwords", "账号 {1} 因连续 {3} 次密码错误已锁定至 {t2}"),
    (r"login (\S+) is disabled", "账号 {1} 已停用"),
    (r"the password of (\S+) has expired.*", "{1} 的密码已过期，请先修改密码"),
    (r"(.+?) \((\S+)\) lacks the permission (\S+?)(?: for .+?)?; .*", "{1} 没有此操作的权限（{3}）"),
    (r"unknown record '(.+)'.*", "没有编号为 {1} 的记录"),
    (r"--as-of (\S+) is after today \((\S+)\).*", "{1} 晚于今天（{2}）：保存期限未满的记录不能销毁；报告和预览可以向后看"),
    (r"(\S+) \((.+?)\) proposed (\S+); disposal is a decision of two people.*",
     "{2}（{1}）是 {3} 的提出人；销毁须由另一位有审批权限的人批准"),
    (r"expected a PDF or a photo \(JPEG, PNG\) of the signed form.*", "应为 PDF 或签字表的照片（JPEG、PNG）；请将签字表扫描为 PDF 或拍照上传"),
    (r"unknown document '(.+)'.*", "没有编号为 {1} 的文件"),
    (r"unknown form '(.+)'.*", "没有编号为 {1} 的表单"),
    (r"(\S+) was disposed on (\S+).*", "{1} 已于 {2} 销毁"),
    (r"(\S+) has no revision '(.+)'; it has (.+)", "{1} 没有版本 {2}（现有版本：{3}）"),
    (r"a legal hold needs --reason", "加入法律保全须填写原因"),
    (r"releasing a hold needs --reason", "解除法律保全须填写原因"),
    (r"(\S+) is already on hold", "{1} 已在法律保全中"),
    (r"(\S+) is not on hold", "{1} 不在法律保全中"),
    (r"rejecting a draft needs --reason", "驳回须填写原因"),
    (r"withdrawing a draft needs --reason", "撤回草稿须填写原因"),
    (r"withdrawing a document needs --reason", "作废须填写原因"),
    (r"a controlled copy needs --holder", "发放受控副本须填写持有部门或人员"),
    (r"the effective date (\S+) is before the issue date (\S+);.*", "实施日期 {1} 早于发布日期 {2}；实施日期须在发布日期当天或之后"),
    (r"the effective date (\S+) must be after the effective date (\S+) of (\S+)",
     "实施日期 {1} 须晚于 {3} 的实施日期 {2}"),
    (r"(\S+) (\S+) is already signed as (\S+) \(\w+\); this role takes one signature", "{1} {2} 已有{3}签署；该角色只签一次"),
    (r"separation of duties: (.+?) \((\S+)\) already signed this revision as (\S+?);.*",
     "职责分离：{1} 已以{3}身份签署本版本；一人只能签署一个角色"),
    (r"(.+?) \((\S+)\) has already signed this revision as (\S+?);.*", "{1} 已以{3}身份签署本版本；同一角色只签一次"),
    (r"(.+?) \((\w+)\) cannot sign (?:after|before) .*; roles sign in the order (.+)", "{1} 现在还不能签署；签署顺序为：{3}"),
    (r"(\S+) (\S+) cannot be released: not yet signed as (.+)", "{1} {2} 尚不能发布：还缺 {3} 的签署"),
    (r"(\S+) (\S+) cannot be released: its content changed after the signature of (.+?);.*",
     "{1} {2} 不能发布：{3} 签署后内容已改变；请驳回后重新签署"),
    (r"(\S+) (\S+) is already released; submit a new revision to change it", "{1} {2} 已发布；如需修改请提交新版本"),
    (r"(\S+) (\S+) was withdrawn; submit a new draft", "{1} {2} 已撤回；请提交新的草稿"),
    (r"(\S+) (\S+) is (\w+); nothing to release", "{1} {2} 当前为“{s3}”，没有可发布的版本"),
    (r"(\S+) (\S+) is (\w+); only an unreleased draft can be rejected", "{1} {2} 当前为“{s3}”，只有未发布的草稿可以驳回"),
    (r"(\S+) has no unreleased draft \((\S+) is (\w+)\);.*", "{1} 没有未发布的草稿（{2} 为“{s3}”）；已发布的文件请用“作废”"),
    (r"(\S+) has no controlled copy No\.(\d+)", "{1} 没有 No.{2} 受控副本"),
    (r"copy No\.(\d+) of (\S+) was already recalled on (\S+)", "{2} 的 No.{1} 受控副本已于 {3} 回收"),
    (r"(\S+) was already withdrawn on (\S+)", "{1} 已于 {2} 作废"),
    (r"(\S+) was withdrawn \(作废\) on (\S+);.*", "{1} 已于 {2} 作废，不能再签署或发布"),
    (r"(\S+) has never been released; there is nothing to withdraw", "{1} 从未发布，无需作废"),
    (r"(\S+) (\S+) is an open draft;.*", "{1} {2} 是未完成的草稿；请先发布或撤回该草稿"),
    (r"(\S+) has no released revision to copy.*", "{1} 没有可发放受控副本的已发布版本"),
    (r"(\S+) (\S+) has no PDF \(released with --no-pdf\)", "{1} {2} 发布时未生成 PDF，无法发放受控副本"),
    (r"(\S+) (\S+) is in review \(signed by (.+)\);.*", "{1} {2} 审批中（已由 {3} 签署），已签署的草稿不能替换"),
    (r"(\S+) (\S+) is released; a new revision needs --change.*", "{1} {2} 已发布；提交新版本须填写修订说明"),
    (r"the source is the same as (\S+) (\S+).*", "源文件与 {1} {2} 完全相同；请修改后再提交"),
    # a procedure source uploaded on the 文件管理 page
    (r"expected a list of sections", "应为章节列表（sections 下每项一个章节）"),
    (r"expected a section with title and/or body", "每个章节应有标题（title）和/或正文（body）"),
    (r"a section needs a title and/or body.*", "章节须有标题（title）和/或正文（body）、表格或子章节"),
    (r"expected a list of (.+)", "应为列表：{1}"),
    (r"missing; expected the (.+)", "缺少此项"),
    (r"`(.+)`: unknown key; (.*)", "不认识的键 {1}；{2}"),
    (r"row has (\d+) cells but the table has (\d+) columns", "此行有 {1} 格，而表格有 {2} 列"),
    (r"unknown kind '(.+)'; expected one of: (.+)", "未知的文件类别 {1}；可用：{2}"),
    (r"(\S+) does not match the document number pattern.*", "文件编号 {1} 不符合编号规则"),
    (r"(\S+) changed (?:while signing|meanwhile); run the command again", "{1} 刚被他人修改，请刷新页面后重试"),
    (r"--as-of (\S+) is before the earlier purge as of (\S+);.*", "截至日期 {1} 早于上次销毁的截至日期 {2}；销毁日期只能向后"),
    # a Word procedure uploaded or imported (issue 25)
    (r"a macro-enabled Word file \(\.docm\) is not read;.*", "不接受含宏的 Word 文件（.docm）；请另存为不含宏的 .docx"),
    (r"the file holds macros \(vbaProject\);.*", "文件中含有宏（vbaProject）；请另存为不含宏的 .docx"),
    (r"the Word package is damaged .*", "Word 文件已损坏；请用 Word 打开后重新保存"),
    (r"the file is encrypted \(password protected\).*",
     "文件已加密（设有密码）或为旧版 .doc；请在 Word 中另存为未加密的 .docx"),
    (r"not a Word \.docx file.*", "不是 Word .docx 文件；请在 Word 中另存为 .docx"),
    (r"the file is (\d+) MB; expected a procedure of at most (\d+) MB.*", "文件有 {1} MB，程序文件最大 {2} MB（请压缩图片或拆分文件）"),
    (r"the document holds (\d+) tables; expected at most (\d+).*", "文件中有 {1} 个表格，程序文件最多 {2} 个"),
    (r"part (\S+) inflates (\d+) times; refused as a zip bomb", "文件中的 {1} 解压后膨胀 {2} 倍，按压缩炸弹拒收"),
    (r"table (\d+) \(after paragraph (\d+)\) has merged cells;.*", "第 {2} 段后的表 {1} 有合并单元格；请拆分，使每行每列各一格"),
    (r"paragraph (\d+): clause (\S+) follows (\S+); expected one of (.+) \(the numbering jumps\)",
     "第 {1} 段：条款 {2} 接在 {3} 之后，应为 {4} 之一（编号跳号）"),
    (r"paragraph (\d+): clause (\S+) repeats the clause of paragraph (\d+);.*", "第 {1} 段：条款 {2} 与第 {3} 段重号；请重新编号"),
    (r"no numbered clauses .* this does not read as a procedure",
     "没有找到编号条款（1 目的、2 范围……），不像是一份程序文件"),
    (r"the number is (\S+) in this editor; got (\S+).*", "此处编辑的是 {1}，文件编号不能改为 {2}（新文件请用上传）"),
    (r"unknown sort '(.*)'; expected one of: .+", "排序方式“{1}”不存在；可选：relevance（相关度）、newest（新→旧）、oldest（旧→新）"),
    (r"offset (\d+) is beyond the first (\d+) hits \(search.count_cap\).*", "只能翻到前 {2} 条结果；请加筛选条件缩小范围，或换一种排序"),
]

_RESULTS = [(re.compile(p + r"\Z", re.S), zh) for p, zh in RESULTS]
_ERRORS = [(re.compile(p + r"\Z", re.S), zh) for p, zh in ERRORS]
_SLOT = re.compile(r"\{([ts]?)(\d)\}")


def _fill(template: str, m: re.Match, ws) -> str:
    def slot(s: re.Match) -> str:
        value = m.group(int(s.group(2))) or ""
        if s.group(1) == "t":
            return local_time(value, ws)
        if s.group(1) == "s":
            return status_label(value)
        return value
    return _SLOT.sub(slot, template)


def _translate(table, text: str, ws) -> str:
    for pattern, zh in table:
        m = pattern.match(text)
        if m:
            return _fill(zh, m, ws)
    return text


def result(ws, message) -> str:
    """A state change's one line (a str, or a Change's message) as the page shows it."""
    text = getattr(message, "message", message) or ""
    return _translate(_RESULTS, text, ws) if chinese(ws.config.locale) else text


class PageError(QmsError):
    """An error as a page shows it: the same kind and place, the words in the workspace's language."""

    def __init__(self, exc: QmsError, message: str, zh: bool):
        self.original, self.zh = exc, zh
        super().__init__(message, file=exc.file, field=exc.field, line=exc.line, row=exc.row)

    def format(self) -> str:
        if not self.zh:
            return super().format()
        where = [self.file] if self.file else []
        if self.line is not None:
            where.append(f"第 {self.line} 行")
        if self.row is not None:
            where.append(f"第 {self.row} 条")
        if self.field:
            where.append(f"字段 {self.field}")
        text = f"{'，'.join(where)}：{self.message}" if where else self.message
        return re.sub("[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def error(ws, exc: QmsError) -> PageError:
    """EXC with its message in the workspace's language; `format()` names the place in it too."""
    if isinstance(exc, PageError):
        return exc
    zh = chinese(ws.config.locale)
    return PageError(exc, _translate(_ERRORS, exc.message, ws) if zh else exc.message, zh)
