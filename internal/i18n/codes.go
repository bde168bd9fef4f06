package i18n

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// verdicts explains IVS's verification codes (verdicts: billed, final).
var verdicts = map[int]text{
	1000: {"verified: the person matches the authority's record",
		"核验通过：与权威数据一致"},
	2001: {"name and id number do not match the authority's record",
		"姓名与身份证号不一致"},
	2002: {"the face does not match the id's photo",
		"人脸与证件照片不是同一人"},
	2003: {"the face image's quality or format was not good enough to compare: take a clearer photo",
		"人脸图片质量或格式不合格，无法比对：请重新拍摄清晰照片"},
	2006: {"the authority holds no photo for this id (rare): a person must check it",
		"权威数据中无此证件照片（少见）：需人工核实"},
	3001: {"the id is not in the authority's data (moving household, military …): a person must check it",
		"权威数据中无此身份证号（迁户、军人等）：需人工核实"},
}

// codes explains every error or reason code stored on a record or an
// attempt: IVS's and the gateway's codes, and ivsbatch's own (client.*,
// request.invalid, transport, auth, infra.*, budget and attempts, the
// identity rules id.* and name.*, media.*, intake's input.*, abandoned).
var codes = map[string]text{
	// IVS (shared/ivs/README.md)
	"IVS.0001":  {"IVS: the request's meta was empty (a bug of this program: report it)", "IVS：请求 meta 为空（本程序缺陷，请报告）"},
	"IVS.0002":  {"IVS: more than one item in the request (a bug of this program: report it)", "IVS：一次请求含多条数据（本程序缺陷，请报告）"},
	"IVS.0003":  {"IVS: a required field was empty: check the row's columns", "IVS：必填参数为空：请检查该行各列"},
	"IVS.0004":  {"IVS: image size out of bounds (10 KB – 4 MB encoded): supply another image", "IVS：图片大小超出范围（编码后 10 KB – 4 MB）：请更换图片"},
	"IVS.0005":  {"IVS: video size out of bounds (10 KB – 10 MB encoded): supply another video", "IVS：视频大小超出范围（编码后 10 KB – 10 MB）：请更换视频"},
	"IVS.0006":  {"IVS: the face image is invalid (JPEG, 300–4000 px a side): supply another photo", "IVS：人脸图片无效（须为 JPG，边长 300–4000 像素）：请更换照片"},
	"IVS.0007":  {"IVS: the id card image could not be read: supply a clear, horizontal image of the whole card", "IVS：身份证图片无法识别：请提供完整、横向、清晰的证件图片"},
	"IVS.0008":  {"IVS: liveness check failed (actions not seen, or not a live person): record the video again", "IVS：活体检测失败（未检测到指定动作或非真人）：请重新录制视频"},
	"IVS.0009":  {"IVS: no face, or several faces, in the image: supply a photo of one face", "IVS：图片中没有人脸或有多张人脸：请提供只含一张人脸的照片"},
	"IVS.0010":  {"IVS: the faces could not be compared: supply clearer images", "IVS：人脸比对失败：请提供更清晰的图片"},
	"IVS.0011":  {"IVS: a field's format was refused (too long, empty, name characters, id number): check the row", "IVS：参数格式错误（过长、为空、姓名含非法字符或身份证号无效）：请检查该行"},
	"IVS.0012":  {"IVS: Content-Type header missing (a bug of this program: report it)", "IVS：缺少 Content-Type 请求头（本程序缺陷，请报告）"},
	"IVS.0013":  {"IVS: the token was refused: credentials are refreshed and the call resent", "IVS：令牌异常：已刷新凭证并重发"},
	"IVS.0014":  {"IVS: the service is frozen (account in arrears): every call is paused until the account is paid and resumed", "IVS：服务已冻结（账户欠费）：全部调用已暂停，充值后恢复"},
	"IVS.0015":  {"IVS: the service is not subscribed, or the region is wrong: every call is paused", "IVS：未开通服务或区域错误：全部调用已暂停"},
	"IVS.0101":  {"IVS: internal error of the service: retried later", "IVS：服务内部错误：稍后重试"},
	"APIG.0101": {"gateway: API not found (wrong endpoint or region)", "网关：接口不存在（地址或区域错误）"},
	"APIG.0201": {"gateway: the service timed out: retried after a few seconds", "网关：后端超时：数秒后重试"},
	"APIG.0301": {"gateway: the token or signature was refused (wrong or expired credentials)", "网关：令牌无法解析或签名错误/过期（凭证错误）"},
	"APIG.0307": {"gateway: the token expired: refreshed and resent", "网关：令牌过期：已刷新并重发"},
	"APIG.0308": {"gateway: over the account's request rate: slowed down and retried (not an error of the record)", "网关：超出账户调用频率：已降速重试（非该记录的错误）"},

	// the IVS client's own
	"client.bad_body":     {"IVS answered 200 (billed) with a body that could not be read", "IVS 返回 200（已计费），但响应内容无法解析"},
	"client.no_resp_data": {"IVS answered 200 (billed) without a result", "IVS 返回 200（已计费），但没有核验结果"},
	"client.body_too_big": {"IVS's answer was larger than this program reads", "IVS 响应超出本程序读取上限"},
	"request.invalid":     {"the request broke the API's rules and was not sent (nothing billed)", "请求不符合接口规则，未发送（未计费）"},
	"transport":           {"no answer from IVS (network): retried; a call already sent may have been billed", "未收到 IVS 响应（网络问题）：已重试；已发出的请求可能已计费"},
	"auth":                {"credentials could not be obtained from IAM", "无法从 IAM 获取凭证"},
	"unknown":             {"an error of no known kind", "未知类型的错误"},
	"abandoned":           {"the worker stopped during the call: possibly billed, the record was sent again", "调用期间处理进程中断：可能已计费，记录已重新发送"},

	// ivsbatch's processing
	"infra.fetch":        {"the media store did not answer for too long: fix it, then ops requeue -code infra.fetch", "长时间无法读取媒体存储：修复后执行 ops requeue -code infra.fetch"},
	"infra.prepare":      {"media tooling failed for too long (ffmpeg, temporary files): fix it, then ops requeue -code infra.prepare", "媒体处理长时间失败（ffmpeg、临时文件）：修复后执行 ops requeue -code infra.prepare"},
	"infra.store":        {"the database refused writes for too long: fix it, then ops requeue -code infra.store", "数据库长时间拒绝写入：修复后执行 ops requeue -code infra.store"},
	"infra.limiter":      {"the shared rate limiter (Redis) failed for too long: fix it, then ops requeue -code infra.limiter", "共享限流器（Redis）长时间故障：修复后执行 ops requeue -code infra.limiter"},
	"budget.exhausted":   {"the batch's budget of billed calls was used up: raise it (ops budget), then ops requeue -code budget.exhausted", "批次计费调用预算已用完：提高预算（ops budget）后执行 ops requeue -code budget.exhausted"},
	"attempts.exhausted": {"retries ran out without a verdict", "重试次数用尽，仍无核验结果"},
	"batch.cancelled":    {"the batch was cancelled before this record was sent (ops resume re-opens it)", "批次在该记录发送前已取消（ops resume 可恢复）"},
	// Webhook event types (package webhook), shown by ops webhooks deliveries.
	"batch.finished":         {"webhook event: the batch has no open records left", "Webhook 事件：批次已无未完成的记录"},
	"batch.paused":           {"webhook event: the account (quota, arrears, credentials) or an operator paused the batch", "Webhook 事件：账号（配额、欠费、凭证）或操作员暂停了批次"},
	"batch.budget_exhausted": {"webhook event: a record was refused because the batch's budget of billed calls is used up", "Webhook 事件：批次计费调用预算已用完，有记录未发送"},
	"batch.needs_review":     {"webhook event: the batch finished with records waiting in review", "Webhook 事件：批次已完成，有记录等待人工复核"},

	// identity rules (rejected before any call: nothing billed)
	"id.length":  {"the id number is not 15 or 18 characters long", "身份证号不是 15 位或 18 位"},
	"id.chars":   {"the id number holds a character other than digits (and a final X)", "身份证号含数字（及末位 X）以外的字符"},
	"id.region":  {"the id number's region code is not a province's", "身份证号的地区码无效"},
	"id.date":    {"the id number's birth date is not a real date (or before 1900)", "身份证号中的出生日期无效（或早于 1900 年）"},
	"id.future":  {"the id number's birth date is in the future", "身份证号中的出生日期晚于今天"},
	"id.check":   {"the id number's check character is wrong (a typing error)", "身份证号校验位错误（可能录入有误）"},
	"name.empty": {"the name is empty", "姓名为空"},
	"name.chars": {"the name holds characters other than Chinese characters and the middle dot ·", "姓名含汉字和间隔号 · 以外的字符"},
	"name.private_use": {"the name holds a rare character from a private-use area, which the authority stores differently: a person must check it",
		"姓名含自造字区（私用区）生僻字，与权威数据的存储方式不同：需人工核实"},
	"name.too_long": {"the name is too long", "姓名过长"},

	// media (rejected before any call: nothing billed)
	"media.empty":              {"the media file is empty", "媒体文件为空"},
	"media.not_image":          {"the file is not an image", "文件不是图片"},
	"media.unsupported_format": {"the image's format cannot be read here (HEIC, AVIF … without support)", "不支持该图片格式（如 HEIC、AVIF）"},
	"media.corrupt_image":      {"the image is damaged or truncated", "图片已损坏或不完整"},
	"media.too_small":          {"the image is under 300 pixels on a side", "图片边长小于 300 像素"},
	"media.card_portrait":      {"the id card image is upright (portrait): the card must lie horizontally", "身份证图片为竖向：证件须横向拍摄"},
	"media.cannot_fit":         {"the image cannot be made to fit IVS's size limits", "图片无法压缩到 IVS 的大小限制内"},
	"media.not_video":          {"the file is not a video IVS accepts (or has no video stream)", "文件不是 IVS 支持的视频（或没有视频流）"},
	"media.corrupt_video":      {"the video is damaged or truncated", "视频已损坏或不完整"},
	"media.video_too_short":    {"the video is shorter than 1 second", "视频短于 1 秒"},
	"media.video_too_long":     {"the video is longer than 15 seconds", "视频长于 15 秒"},
	"media.unsupported_codec":  {"the video's codec cannot be decoded", "无法解码该视频编码"},
	"media.too_costly":         {"reading the video needs more time or memory than allowed", "读取该视频所需时间或内存超出限制"},
	"media.unknown_kind":       {"unknown kind of media (a bug of this program: report it)", "未知的媒体类型（本程序缺陷，请报告）"},
	"media.missing":            {"the media file was not found where the manifest says", "在清单所指位置找不到媒体文件"},
	"media.too_large":          {"the media file is larger than allowed", "媒体文件超出大小上限"},
	"media.bad_ref":            {"the media reference cannot be read (outside the allowed places, or malformed)", "媒体引用无效（不在允许的位置或格式错误）"},

	// intake (rows refused in the manifest: nothing billed)
	"input.malformed":     {"the manifest row could not be read (quoting, JSON, unknown key)", "清单该行无法读取（引号、JSON 或未知字段）"},
	"input.ref":           {"the row's ref is too long or holds control characters", "该行 ref 过长或含控制字符"},
	"input.shape":         {"the row's fields do not make one of the six request shapes", "该行字段不构成六种请求类型中的任何一种"},
	"input.media_ref":     {"a media reference is not s3://bucket/key or file:///path", "媒体引用不是 s3://bucket/key 或 file:///路径"},
	"input.actions":       {"actions must be distinct codes 1–5 (1 shake left, 2 shake right, 3 nod, 4 mouth, 5 blink)", "动作须为 1–5 中不重复的代码（1 左摇头、2 右摇头、3 点头、4 张嘴、5 眨眼）"},
	"input.nod_threshold": {"nod_threshold must be a number from 1 to 90", "nod_threshold 须为 1–90 的数字"},
	"input.bool":          {"detail and crop must be true, false, 1 or 0", "detail 和 crop 须为 true、false、1 或 0"},
	"input.duplicate_ref": {"the ref appears earlier in the manifest", "该 ref 在清单中已出现过"},
	"input.encoding":      {"the row holds bytes that are not text in the manifest's encoding", "该行含清单编码无法识别的字节"},
	"input.id_scientific": {"a spreadsheet turned the id number into a number like 1.10101E+17 and digits were lost: format the column as text",
		"电子表格把身份证号变成了 1.10101E+17 之类的数字，位数已丢失：请把该列设为文本格式"},
	"input.too_large": {"a row, cell or the customer's columns are larger than allowed", "该行、单元格或自定义列超出大小上限"},
}

// patterns explain codes of a family: an answer with an HTTP status and no
// code, a review reason of intake.
var patterns = []struct {
	prefix string
	t      text // %s is the rest of the code
}{
	{"http.", text{"IVS answered HTTP %s without an error code", "IVS 返回 HTTP %s，且没有错误码"}},
	{"review.", text{"set aside for a person to check (%s)", "需人工核实（%s）"}},
}

// Verdict explains IVS's verification code c in l; a code IVS does not
// document is explained as such.
func (l Lang) Verdict(c int) string {
	if t, ok := verdicts[c]; ok {
		return t.in(l)
	}
	return fmt.Sprintf(text{"verification code %d, not documented by IVS: a person must check it",
		"IVS 未说明的核验码 %d：需人工核实"}.in(l), c)
}

// Code explains the error or reason code c in l. Gateway codes are matched
// on their number (APIGW.0308 is APIG.0308). An unknown code is named as such.
func (l Lang) Code(c string) string {
	if t, ok := codes[normalize(c)]; ok {
		return t.in(l)
	}
	for _, p := range patterns {
		if rest, ok := strings.CutPrefix(c, p.prefix); ok && rest != "" {
			return fmt.Sprintf(p.t.in(l), rest)
		}
	}
	return fmt.Sprintf(text{"code %s (no explanation in this version)", "代码 %s（本版本无说明）"}.in(l), c)
}

// Known reports whether c has its own explanation (or belongs to a family
// that has one).
func Known(c string) bool {
	if _, ok := codes[normalize(c)]; ok {
		return true
	}
	for _, p := range patterns {
		if rest, ok := strings.CutPrefix(c, p.prefix); ok && rest != "" {
			return true
		}
	}
	return false
}

// KnownVerdict reports whether verification code c has its own explanation.
func KnownVerdict(c int) bool { _, ok := verdicts[c]; return ok }

// Codes lists the codes with an explanation, sorted.
func Codes() []string { return slices.Sorted(maps.Keys(codes)) }

// Verdicts lists the verification codes with an explanation, sorted.
func Verdicts() []int { return slices.Sorted(maps.Keys(verdicts)) }

// Explain explains a record's outcome in l: its verification code when it
// has one, else its error or reason code, else "".
func (l Lang) Explain(verificationCode *int, errorCode string) string {
	switch {
	case verificationCode != nil:
		return l.Verdict(*verificationCode)
	case errorCode != "":
		return l.Code(errorCode)
	}
	return ""
}

// normalize spells a gateway code APIG.nnnn, as IVS documents it.
func normalize(c string) string {
	if rest, ok := strings.CutPrefix(c, "APIGW."); ok {
		return "APIG." + rest
	}
	return c
}
