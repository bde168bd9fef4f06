package console

import (
	"net/http"

	"golang.org/x/text/language"
)

// Lang is a language the console speaks.
type Lang string

// The console's languages.
const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Langs are the console's languages, the default first.
var Langs = []Lang{English, Chinese}

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// LangCookie holds the language an operator chose with the switch in the
// page header; it wins over Accept-Language.
const LangCookie = "ivsbatch_lang"

// langOf is the language of r: the operator's choice (LangCookie), else the
// browser's Accept-Language (zh, zh-CN, zh-Hans… → Chinese), else English.
func langOf(r *http.Request) Lang {
	if c, err := r.Cookie(LangCookie); err == nil {
		for _, l := range Langs {
			if c.Value == string(l) {
				return l
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[i]
}

// messages is the console's one catalogue of UI strings: key → text per
// language. A test checks every key has every language and every key the
// templates use is here.
var messages = map[string]map[Lang]string{
	"title":            {English: "ivsbatch console", Chinese: "ivsbatch 控制台"},
	"nav.batches":      {English: "Batches", Chinese: "批次"},
	"nav.upload":       {English: "Upload", Chinese: "上传清单"},
	"nav.review":       {English: "Review", Chinese: "人工复核"},
	"nav.find":         {English: "Find a record", Chinese: "查找记录"},
	"nav.audit":        {English: "Audit log", Chinese: "审计日志"},
	"nav.logout":       {English: "Log out", Chinese: "退出登录"},
	"role.viewer":      {English: "viewer", Chinese: "只读"},
	"role.operator":    {English: "operator", Chinese: "操作员"},
	"role.admin":       {English: "admin", Chinese: "管理员"},
	"batches.title":    {English: "Batches", Chinese: "批次列表"},
	"batches.none":     {English: "No batch yet.", Chinese: "暂无批次。"},
	"batches.older":    {English: "Older batches", Chinese: "更早的批次"},
	"col.batch":        {English: "Batch", Chinese: "批次"},
	"col.name":         {English: "Name", Chinese: "名称"},
	"col.created":      {English: "Created", Chinese: "创建时间"},
	"col.records":      {English: "Records", Chinese: "记录数"},
	"col.open":         {English: "Open", Chinese: "未完成"},
	"col.progress":     {English: "Progress", Chinese: "进度"},
	"col.status":       {English: "Status", Chinese: "状态"},
	"col.count":        {English: "Count", Chinese: "数量"},
	"col.code":         {English: "Code", Chinese: "代码"},
	"col.reason":       {English: "Reason", Chinese: "原因"},
	"col.ref":          {English: "Ref", Chinese: "业务编号"},
	"col.shape":        {English: "Shape", Chinese: "类型"},
	"col.person":       {English: "Name (masked)", Chinese: "姓名（脱敏）"},
	"col.idnumber":     {English: "ID number (masked)", Chinese: "身份证号（脱敏）"},
	"col.verdict":      {English: "Verdict", Chinese: "核验结果"},
	"col.similarity":   {English: "Similarity", Chinese: "相似度"},
	"col.message":      {English: "Message", Chinese: "说明"},
	"col.attempts":     {English: "Attempts", Chinese: "尝试次数"},
	"col.updated":      {English: "Updated", Chinese: "更新时间"},
	"col.action":       {English: "Action", Chinese: "操作"},
	"col.at":           {English: "When", Chinese: "时间"},
	"col.who":          {English: "Who", Chinese: "操作人"},
	"col.command":      {English: "Command", Chinese: "操作"},
	"col.args":         {English: "Arguments", Chinese: "参数"},
	"col.result":       {English: "Result", Chinese: "结果"},
	"batch.title":      {English: "Batch", Chinese: "批次"},
	"batch.summary":    {English: "%d records, %d open", Chinese: "共 %d 条记录，%d 条未完成"},
	"batch.rate":       {English: "Rate: %.1f records/s, about %s left", Chinese: "速度：每秒 %.1f 条，预计还需 %s"},
	"batch.finished":   {English: "Finished: no record is open.", Chinese: "已完成：没有未完成的记录。"},
	"batch.refreshing": {English: "This page refreshes every 5 s while records are open.", Chinese: "有未完成记录时本页每 5 秒刷新一次。"},
	"batch.statuses":   {English: "Records by status", Chinese: "各状态记录数"},
	"batch.verdicts":   {English: "Verdicts", Chinese: "核验结果"},
	"batch.failures":   {English: "Failures by reason", Chinese: "失败原因"},
	"batch.nofailures": {English: "No failure.", Chinese: "没有失败记录。"},
	"batch.charts":     {English: "Charts", Chinese: "图表"},
	"batch.export":     {English: "Download the export", Chinese: "下载导出文件"},
	"batch.review":     {English: "Review cases of this batch", Chinese: "本批次的复核案例"},
	"batch.show":       {English: "show", Chinese: "查看"},
	"batch.submitted":  {English: "Manifest stored: %d records added.", Chinese: "清单已保存：新增 %d 条记录。"},
	"batch.already":    {English: "This manifest was already submitted as this batch: nothing added.", Chinese: "该清单已作为本批次提交过：未新增记录。"},
	"batch.requeued":   {English: "%d records re-queued.", Chinese: "已重新排队 %d 条记录。"},
	"records.title":    {English: "Records of batch %d: %s", Chinese: "批次 %d 的记录：%s"},
	"records.none":     {English: "No record.", Chinese: "没有记录。"},
	"records.more":     {English: "Next page", Chinese: "下一页"},
	"requeue.button":   {English: "Re-queue…", Chinese: "重新排队…"},
	"requeue.title":    {English: "Re-queue batch %d, code %s", Chinese: "重新排队：批次 %d，代码 %s"},
	"requeue.preview":  {English: "%d records selected: %d would be re-queued, %d skipped (on their way), %d skipped (they have a verdict).", Chinese: "选中 %d 条记录：将重新排队 %d 条，跳过 %d 条（处理中），跳过 %d 条（已有核验结果）。"},
	"requeue.cost":     {English: "Cost: up to %d paid IVS calls (one per record; %d if every record uses all its attempts).", Chinese: "费用：最多 %d 次计费的 IVS 调用（每条记录一次；若每条记录用尽全部重试则为 %d 次）。"},
	"requeue.confirm":  {English: "Confirm: re-queue %d records", Chinese: "确认：重新排队 %d 条记录"},
	"requeue.nothing":  {English: "Nothing to re-queue.", Chinese: "没有可重新排队的记录。"},
	"requeue.cancel":   {English: "Cancel", Chinese: "取消"},
	"review.title":     {English: "Review queue", Chinese: "人工复核队列"},
	"review.none":      {English: "No case waits for review.", Chinese: "没有待复核的案例。"},
	"review.why":       {English: "Why", Chinese: "复核原因"},
	"review.decision":  {English: "Decision", Chinese: "决定"},
	"review.approve":   {English: "Approve (keep IVS's verdict)", Chinese: "通过（采用 IVS 结果）"},
	"review.reject":    {English: "Reject", Chinese: "拒绝"},
	"review.reverify":  {English: "Re-verify (one paid call)", Chinese: "重新核验（一次计费调用）"},
	"review.reason":    {English: "Reason", Chinese: "理由"},
	"review.decide":    {English: "Decide", Chinese: "提交决定"},
	"review.decided":   {English: "Record %d: %s.", Chinese: "记录 %d：%s。"},
	"find.title":       {English: "Find a record by ref", Chinese: "按业务编号查找记录"},
	"find.ref":         {English: "Ref", Chinese: "业务编号"},
	"find.go":          {English: "Find", Chinese: "查找"},
	"find.none":        {English: "No record has this ref.", Chinese: "没有该业务编号的记录。"},
	"upload.title":     {English: "Upload a manifest", Chinese: "上传清单"},
	"upload.file":      {English: "Manifest (CSV, TSV, JSON Lines, JSON or .xlsx)", Chinese: "清单文件（CSV、TSV、JSON Lines、JSON 或 .xlsx）"},
	"upload.name":      {English: "Batch name (optional)", Chinese: "批次名称（可选）"},
	"upload.go":        {English: "Upload", Chinese: "上传"},
	"upload.refused":   {English: "The manifest was refused", Chinese: "清单被拒绝"},
	"audit.title":      {English: "Audit log", Chinese: "审计日志"},
	"login.title":      {English: "Log in", Chinese: "登录"},
	"login.user":       {English: "User", Chinese: "用户名"},
	"login.password":   {English: "Password", Chinese: "密码"},
	"login.go":         {English: "Log in", Chinese: "登录"},
	"login.failed":     {English: "Wrong user or password, or too many attempts.", Chinese: "用户名或密码错误，或尝试次数过多。"},
	"error.title":      {English: "Something went wrong", Chinese: "出错了"},
	"error.forbidden":  {English: "Your role may not do this.", Chinese: "您的角色无权执行此操作。"},
	"error.csrf":       {English: "The form expired or was not sent from this console: reload the page and try again.", Chinese: "表单已过期或并非来自本控制台：请刷新页面后重试。"},
	"error.notfound":   {English: "Not found.", Chinese: "未找到。"},
	"error.bad":        {English: "The request is not valid.", Chinese: "请求无效。"},
	"error.internal":   {English: "The server could not do this; the error is logged.", Chinese: "服务器无法完成该操作，错误已记录。"},
	"lang.switch":      {English: "中文", Chinese: "English"},
	// statuses (issue 25's catalogue of codes and statuses replaces these when it lands)
	"status.pending":   {English: "pending", Chinese: "待处理"},
	"status.queued":    {English: "queued", Chinese: "排队中"},
	"status.in_flight": {English: "in flight", Chinese: "处理中"},
	"status.done":      {English: "done", Chinese: "已完成"},
	"status.rejected":  {English: "rejected", Chinese: "已拒绝"},
	"status.failed":    {English: "failed", Chinese: "失败"},
	"status.review":    {English: "review", Chinese: "待复核"},
}

// text is the catalogue's text for key in l (the key itself when missing:
// the catalogue test keeps that from shipping).
func text(l Lang, key string) string {
	if m, ok := messages[key]; ok {
		if s, ok := m[l]; ok {
			return s
		}
		return m[English]
	}
	return key
}

// CatalogueKeys returns a copy of the catalogue, for tests and translators.
func CatalogueKeys() map[string]map[Lang]string {
	out := make(map[string]map[Lang]string, len(messages))
	for k, m := range messages {
		c := make(map[Lang]string, len(m))
		for l, s := range m {
			c[l] = s
		}
		out[k] = c
	}
	return out
}
