-- HQ's default callback policy and version 1 of the standard
-- questionnaires of every kind. Both are data: HQ changes them through the
-- API (UpdateDefaultCallbackPolicy, CreateQuestionnaire publishes v2 ...).
INSERT INTO callback_policies (scope, timings, max_attempts, retry_interval_s, calling_start, calling_end, score_threshold) VALUES
('default', '[
  {"kind": "3DC", "delay_s": 259200, "window_s": 172800},
  {"kind": "7DC", "delay_s": 604800, "window_s": 259200},
  {"kind": "NEW_CUSTOMER", "delay_s": 86400, "window_s": 604800},
  {"kind": "COMPLAINT_FOLLOW_UP", "delay_s": 86400, "window_s": 259200},
  {"kind": "REVISIT_OVERDUE", "delay_s": 0, "window_s": 604800},
  {"kind": "CAMPAIGN", "delay_s": 0, "window_s": 604800}
]', 3, 86400, '09:00', '21:00', 80);

INSERT INTO questionnaires (id, kind, version, title, script, questions) VALUES
('6c1b9a10-0001-4000-8000-000000000001', '3DC', 1, 'SSI 售后服务满意度回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}。您{日期}在我店进行了车辆维修保养，耽误您两三分钟做个简短回访，可以吗？
（客户同意）非常感谢！
1. 对本次服务的总体满意度，1 到 10 分您打几分？
2. 本次送修的问题是否一次修复？
3. 服务顾问是否向您解释了维修项目和费用？
4. 从进店到交车，您觉得等待时间如何？
5. 车辆目前是否还有其他问题？
6. 您对我们还有什么意见或建议？
（客户不满意或反映问题时）非常抱歉给您带来不便，我会把您的意见如实反馈给服务经理，尽快给您答复。
感谢您的支持，祝您用车愉快，再见！',
'[
  {"code": "Q1", "text": "对本次服务的总体满意度（1-10 分）", "type": "rating", "weight": 50, "scale": 10, "required": true},
  {"code": "Q2", "text": "问题是否一次修复?", "type": "yes_no", "weight": 20, "problem_answer": "no", "required": true},
  {"code": "Q3", "text": "服务顾问是否解释了维修项目和费用?", "type": "yes_no", "weight": 10},
  {"code": "Q4", "text": "等待时间", "type": "choice", "weight": 20, "options": [
    {"code": "A", "label": "比预期短", "score": 100}, {"code": "B", "label": "与预期相符", "score": 80}, {"code": "C", "label": "比预期长", "score": 40}, {"code": "D", "label": "太长，无法接受", "score": 0}]},
  {"code": "Q5", "text": "是否还有其他问题?", "type": "yes_no", "weight": 0, "problem_answer": "yes"},
  {"code": "Q6", "text": "意见或建议", "type": "text", "weight": 0}
]'),
('6c1b9a10-0001-4000-8000-000000000002', '7DC', 1, 'CSI 销售满意度回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}。恭喜您提了新车！您的爱车交付一周了，想占用您两三分钟了解一下您的购车体验，可以吗？
1. 对本次购车体验的总体满意度，1 到 10 分您打几分？
2. 交车时销售顾问是否为您讲解了车辆功能和使用注意事项？
3. 销售顾问在购车时的承诺是否都已兑现？
4. 您对交车流程的感受如何？
5. 新车使用中是否遇到什么问题？
6. 您还有什么意见或建议？
提醒您：首次保养在 5000 公里或 6 个月，欢迎提前预约。感谢您的支持，祝您用车愉快！',
'[
  {"code": "Q1", "text": "对本次购车体验的总体满意度（1-10 分）", "type": "rating", "weight": 50, "scale": 10, "required": true},
  {"code": "Q2", "text": "交车时是否讲解了车辆功能和注意事项?", "type": "yes_no", "weight": 15},
  {"code": "Q3", "text": "销售承诺是否都已兑现?", "type": "yes_no", "weight": 20, "problem_answer": "no", "required": true},
  {"code": "Q4", "text": "交车流程感受", "type": "choice", "weight": 15, "options": [
    {"code": "A", "label": "非常顺畅", "score": 100}, {"code": "B", "label": "比较顺畅", "score": 75}, {"code": "C", "label": "一般", "score": 50}, {"code": "D", "label": "很差", "score": 0}]},
  {"code": "Q5", "text": "新车使用中是否遇到问题?", "type": "yes_no", "weight": 0, "problem_answer": "yes"},
  {"code": "Q6", "text": "意见或建议", "type": "text", "weight": 0}
]'),
('6c1b9a10-0001-4000-8000-000000000003', 'NEW_CUSTOMER', 1, '新客户欢迎回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}，欢迎您成为我们的客户！以后用车有任何问题都可以联系我，我的电话是{客服电话}。
1. 您对我们的第一印象如何，1 到 5 分您打几分？
2. 您希望我们以什么方式联系您（电话、短信、微信）？
3. 您是否已了解我店的保养预约服务？
4. 有什么需要我们帮忙的吗？
感谢您的信任，祝您生活愉快！',
'[
  {"code": "Q1", "text": "对本店的第一印象（1-5 分）", "type": "rating", "weight": 60, "scale": 5, "required": true},
  {"code": "Q2", "text": "希望的联系方式", "type": "choice", "weight": 0, "options": [
    {"code": "CALL", "label": "电话", "score": 100}, {"code": "SMS", "label": "短信", "score": 100}, {"code": "WECHAT", "label": "微信", "score": 100}]},
  {"code": "Q3", "text": "是否了解保养预约服务?", "type": "yes_no", "weight": 40},
  {"code": "Q4", "text": "是否有需要我们帮忙的问题?", "type": "yes_no", "weight": 0, "problem_answer": "yes"},
  {"code": "Q5", "text": "客户需求记录", "type": "text", "weight": 0}
]'),
('6c1b9a10-0001-4000-8000-000000000004', 'COMPLAINT_FOLLOW_UP', 1, '投诉处理满意度回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}。关于您之前反映的问题，我们已经处理完毕，想跟您确认一下处理结果，可以吗？
1. 您反映的问题是否已经解决？
2. 对本次处理结果的满意度，1 到 10 分您打几分？
3. 处理过程中，我们的响应速度您觉得如何？
4. 是否还有其他问题需要我们处理？
（客户仍不满意）非常抱歉，我会立即把情况反馈给客服经理重新处理，并尽快联系您。
感谢您的耐心和支持！',
'[
  {"code": "Q1", "text": "问题是否已经解决?", "type": "yes_no", "weight": 40, "problem_answer": "no", "required": true},
  {"code": "Q2", "text": "对处理结果的满意度（1-10 分）", "type": "rating", "weight": 50, "scale": 10, "required": true},
  {"code": "Q3", "text": "响应速度", "type": "choice", "weight": 10, "options": [
    {"code": "A", "label": "很快", "score": 100}, {"code": "B", "label": "一般", "score": 60}, {"code": "C", "label": "太慢", "score": 0}]},
  {"code": "Q4", "text": "是否还有其他问题?", "type": "yes_no", "weight": 0, "problem_answer": "yes"},
  {"code": "Q5", "text": "客户意见", "type": "text", "weight": 0}
]'),
('6c1b9a10-0001-4000-8000-000000000005', 'REVISIT_OVERDUE', 1, '未回厂客户关怀回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}。系统显示您的爱车已到保养时间，想问问车辆最近使用情况如何？
1. 车辆最近使用是否正常？
2. 您近期是否方便回店保养？需要帮您预约吗？
3. 没有回店保养的主要原因是什么？
感谢您的接听，期待您再次光临！',
'[
  {"code": "Q1", "text": "车辆使用是否正常?", "type": "yes_no", "weight": 0, "problem_answer": "no"},
  {"code": "Q2", "text": "未回店的主要原因", "type": "choice", "weight": 100, "required": true, "options": [
    {"code": "BUSY", "label": "工作忙，没时间", "score": 80}, {"code": "MILEAGE", "label": "里程未到", "score": 100},
    {"code": "OTHER_SHOP", "label": "在其他店/路边店保养", "score": 30}, {"code": "UNSATISFIED", "label": "对上次服务不满意", "score": 0}]},
  {"code": "Q3", "text": "是否预约回店?", "type": "yes_no", "weight": 0},
  {"code": "Q4", "text": "备注", "type": "text", "weight": 0}
]'),
('6c1b9a10-0001-4000-8000-000000000006', 'CAMPAIGN', 1, '服务活动回访 v1',
'您好，请问是{客户姓名}先生/女士吗？我是{经销商名称}的客服专员{姓名}。我店正在开展{活动名称}，{活动内容}，想邀请您参加，您看方便吗？
1. 您是否有兴趣参加本次活动？
2. 您对本次活动的评价，1 到 5 分您打几分？
感谢您的接听，祝您生活愉快！',
'[
  {"code": "Q1", "text": "是否有兴趣参加?", "type": "yes_no", "weight": 0, "required": true},
  {"code": "Q2", "text": "对活动的评价（1-5 分）", "type": "rating", "weight": 100, "scale": 5},
  {"code": "Q3", "text": "客户反馈", "type": "text", "weight": 0}
]');
