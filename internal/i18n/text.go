package i18n

import (
	"maps"
	"slices"
)

// statuses names the record statuses.
var statuses = map[string]text{
	"pending":   {"pending", "待处理"},
	"queued":    {"queued", "排队中"},
	"in_flight": {"in flight", "核验中"},
	"held":      {"held (batch paused)", "暂停中（批次已暂停）"},
	"done":      {"done", "已完成"},
	"rejected":  {"rejected (not sent)", "已拒绝（未发送）"},
	"failed":    {"failed", "失败"},
	"review":    {"review", "待人工审核"},
	// a reviewer's decision, distinct from IVS's verdict
	"review_approved": {"approved in review", "人工审核通过"},
	"review_rejected": {"rejected in review", "人工审核不通过"},
}

// results names IVS's verification results.
var results = map[string]text{
	"valid":       {"valid", "通过"},
	"invalid":     {"invalid", "不通过"},
	"nonexistent": {"nonexistent", "查无此人"},
}

// shapes names the six request shapes by what the customer supplied.
var shapes = map[string]text{
	"name_face_image": {"name + id number + face photo", "姓名+身份证号+人脸照片"},
	"card_face_image": {"id card images + face photo", "身份证图片+人脸照片"},
	"name_video":      {"name + id number + face video", "姓名+身份证号+人脸视频"},
	"card_video":      {"id card images + face video", "身份证图片+人脸视频"},
	"name":            {"name + id number", "姓名+身份证号"},
	"card":            {"id card images", "身份证图片"},
}

// labels are the column headers of exports and the words of reports, by key.
var labels = map[string]text{
	// export columns
	"id":                   {"record id", "记录编号"},
	"ref":                  {"ref", "业务编号"},
	"line":                 {"manifest line", "清单行号"},
	"shape":                {"request shape", "核验方式"},
	"status":               {"status", "状态"},
	"verdict":              {"verdict", "核验结果"},
	"verification_code":    {"verification code", "核验码"},
	"similarity":           {"similarity", "相似度"},
	"last_error_code":      {"error code", "错误码"},
	"last_error_message":   {"error message", "错误信息"},
	"explanation":          {"explanation", "说明"},
	"attempts":             {"attempts", "尝试次数"},
	"finished_at":          {"finished at", "完成时间"},
	"linked_record_id":     {"answer reused from record", "复用结果的记录"},
	"name_masked":          {"name (masked)", "姓名（脱敏）"},
	"id_number_masked":     {"id number (masked)", "身份证号（脱敏）"},
	"personal_data":        {"personal data", "个人信息"},
	"personal_data.held":   {"held", "保留中"},
	"personal_data.purged": {"purged", "已过保存期限清除（保留核验结果）"},
	"personal_data.erased": {"erased", "已应本人要求删除（保留核验结果）"},
	"metadata":             {"customer's columns", "自定义列"},
	"ocr_name_masked":      {"card: name (masked)", "证件识别：姓名（脱敏）"},
	"ocr_name_matches":     {"card: name matches the record", "证件识别：姓名与记录一致"},
	"ocr_number_masked":    {"card: id number (masked)", "证件识别：身份证号（脱敏）"},
	"ocr_number_matches":   {"card: id number matches the record", "证件识别：身份证号与记录一致"},
	"ocr_sex":              {"card: sex", "证件识别：性别"},
	"ocr_birth_masked":     {"card: birth (masked)", "证件识别：出生日期（脱敏）"},
	"ocr_ethnicity":        {"card: ethnicity", "证件识别：民族"},
	"ocr_address_masked":   {"card: address (masked)", "证件识别：住址（脱敏）"},
	"ocr_issue":            {"card: issued by", "证件识别：签发机关"},
	"ocr_valid_from":       {"card: valid from", "证件识别：有效期起"},
	"ocr_valid_to":         {"card: valid to", "证件识别：有效期止"},
	"video_alive":          {"video: live person", "视频：活体"},
	"video_actions":        {"video: actions (confidence)", "视频：动作（置信度）"},
	"review_decision":      {"review decision", "人工审核结论"},
	"review_by":            {"reviewed by", "审核人"},
	"review_at":            {"reviewed at", "审核时间"},
	"review_reason":        {"review reason", "审核理由"},
	"action.1":             {"shake left", "左摇头"},
	"action.2":             {"shake right", "右摇头"},
	"action.3":             {"nod", "点头"},
	"action.4":             {"open mouth", "张嘴"},
	"action.5":             {"blink", "眨眼"},
	"decision.approve":     {"approve", "通过"},
	"decision.reject":      {"reject", "不通过"},
	"decision.reverify":    {"verify again", "重新核验"},
	"yes":                  {"yes", "是"},
	"no":                   {"no", "否"},

	// report
	"report.title":        {"ivsbatch report: batch %d", "ivsbatch 报告：批次 %d"},
	"report.heading":      {"Batch %d — %s", "批次 %d — %s"},
	"report.meta":         {"created %s · %d records, %d open, %d answered by reuse (no call) · report generated %s", "创建于 %s · 共 %d 条记录，%d 条未完成，%d 条复用已有结果（未调用）· 报告生成于 %s"},
	"report.records":      {"records", "记录数"},
	"report.error_code":   {"error code (no verdict)", "错误码（无核验结果）"},
	"report.verdict_code": {"verification code", "核验码"},
	"report.budget":       {"budget", "预算"},
	"report.cap":          {"cap on billed calls", "计费调用上限"},
	"report.none":         {"none", "无"},
	"report.billed":       {"billed attempts", "已计费调用"},
	"report.possibly":     {"possibly billed attempts", "可能已计费调用"},
	"report.no_data":      {"no data", "无数据"},
	"report.times":        {"times in %s", "时间为 %s 时区"},
	"report.purged":       {"%d purged of personal data, verdict kept (%d erased on request)", "%d 条已清除个人信息、保留核验结果（其中 %d 条应本人要求删除）"},

	"chart.verdicts":         {"Verdict mix", "核验结果分布"},
	"chart.verdicts.note":    {"records by verification code and verdict; records without a verdict by status", "按核验码和结果统计记录；无核验结果的记录按状态统计"},
	"chart.review_not_sent":  {"review (not sent)", "待人工审核（未发送）"},
	"chart.rejected":         {"rejected (not sent)", "已拒绝（未发送）"},
	"chart.failed":           {"failed (no verdict)", "失败（无核验结果）"},
	"chart.open":             {"open", "未完成"},
	"chart.similarity":       {"Similarity", "相似度"},
	"chart.similarity.note":  {"records by similarity score (0–100; detail scores of 0–1000 scaled down)", "按相似度统计记录（0–100；0–1000 的详细分数已按比例缩小）"},
	"chart.errors":           {"Error codes over time", "错误码随时间变化"},
	"chart.errors.note":      {"attempts that ended without a verdict (errors, throttling, abandoned calls), stacked by code, per %s", "未得到核验结果的调用（错误、限流、中断），按错误码堆叠，每%s"},
	"chart.minute":           {"minute", "分钟"},
	"chart.hour":             {"hour", "小时"},
	"chart.attempts":         {"attempts", "调用次数"},
	"chart.calls":            {"Calls per second against the quota", "每秒调用量与配额"},
	"chart.calls.note":       {"IVS calls (attempts) started per second, by endpoint; the red line is the quota (%s/s per endpoint)", "按接口统计每秒发起的 IVS 调用；红线为配额（每个接口 %s 次/秒）"},
	"chart.calls.peak":       {"; each bar is the busiest second of %d s", "；每根柱为 %d 秒内最忙的一秒"},
	"chart.quota":            {"quota %s/s", "配额 %s 次/秒"},
	"chart.calls_per_second": {"calls/s", "次/秒"},
}

// Status names record status s in l; a status the catalogue does not know is
// returned as it is.
func (l Lang) Status(s string) string { return lookup(statuses, s, l) }

// Result names IVS's verification result r (valid, invalid, nonexistent).
func (l Lang) Result(r string) string { return lookup(results, r, l) }

// Shape names request shape s by what the customer supplied.
func (l Lang) Shape(s string) string { return lookup(shapes, s, l) }

// Label is the text of label key (a column of an export, a word of a
// report); an unknown key is returned as it is.
func (l Lang) Label(key string) string { return lookup(labels, key, l) }

// Statuses lists the statuses the catalogue names.
func Statuses() []string { return slices.Sorted(maps.Keys(statuses)) }

// Labels lists the label keys.
func Labels() []string { return slices.Sorted(maps.Keys(labels)) }

func lookup(m map[string]text, k string, l Lang) string {
	if t, ok := m[k]; ok {
		return t.in(l)
	}
	return k
}
