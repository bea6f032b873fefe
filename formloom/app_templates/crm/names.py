"""Word lists for the CRM sample data, per language: people, companies, products, texts."""
from __future__ import annotations

ZH = {
    "surnames": list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"),
    "given": ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英",
              "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "丽华", "海燕", "文博", "子涵", "思远", "雨桐", "浩然",
              "欣怡", "俊杰", "婷婷", "嘉怡", "宇轩"],
    "cities": ["北京", "上海", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉", "西安", "天津", "重庆", "长沙",
               "青岛", "宁波", "厦门", "合肥", "郑州", "济南", "无锡"],
    "brands": ["华信", "远航", "博睿", "恒通", "瑞丰", "鼎盛", "启明", "天成", "嘉禾", "中科", "联创", "新锐", "宏图",
               "卓越", "汇智", "金桥", "东方", "海纳", "云帆", "智达", "锦程", "正泰", "安捷", "蓝海", "同创", "华腾"],
    "industry_words": {"software": ["信息技术", "软件", "网络科技"], "manufacturing": ["精密制造", "机械", "电子"],
                       "finance": ["金融服务", "投资", "融资租赁"], "retail": ["商贸", "零售连锁", "电子商务"],
                       "education": ["教育科技", "培训"], "healthcare": ["医疗器械", "医药", "健康科技"],
                       "other": ["实业", "物流", "文化传媒"]},
    "company_suffix": "有限公司",
    "titles": ["总经理", "采购经理", "IT总监", "财务总监", "运营主管", "技术负责人", "行政经理", "副总裁"],
    "streets": ["科技园路", "人民路", "建设大道", "中山路", "解放路", "滨江大道", "高新大道", "东风路"],
    "products": {"software": [("CRM 标准版(年/用户)", 1200, "用户"), ("CRM 专业版(年/用户)", 2400, "用户"),
                              ("数据分析模块", 30000, "套"), ("移动审批模块", 15000, "套")],
                 "hardware": [("智能考勤终端", 3500, "台"), ("服务器一体机", 68000, "台"), ("扫码枪", 800, "把"),
                              ("会议平板", 16000, "台")],
                 "service": [("实施服务", 8000, "人天"), ("年度维保", 20000, "年"), ("驻场支持", 6000, "人天")],
                 "consulting": [("流程咨询", 50000, "项"), ("数字化规划", 120000, "项"), ("培训课程", 10000, "天")]},
    "deal_words": ["数字化升级项目", "CRM 采购", "年度续约", "扩容项目", "信息化建设", "二期项目", "试点项目",
                   "系统集成项目"],
    "follow_subjects": {"call": "电话沟通需求", "visit": "上门拜访", "wechat": "微信跟进", "email": "发送方案资料",
                        "meeting": "方案演示会议"},
    "follow_texts": ["客户对方案整体认可，关注价格与实施周期。", "约定下周安排技术交流。", "客户内部在走预算流程。",
                     "竞争对手也在接触，需要突出服务优势。", "已发送报价，等待反馈。", "决策人出差，下周再约。",
                     "客户提出定制化需求，需评估工作量。", "确认采购数量与交付时间。"],
    "lost_reasons": ["价格过高", "选择了竞争对手", "预算取消", "需求变化", "决策周期过长"],
    "ticket_subjects": {"inquiry": ["如何导出报表", "账号权限如何设置", "发票开具咨询"],
                        "fault": ["系统登录异常", "终端无法联网", "数据同步失败", "打印功能报错"],
                        "complaint": ["响应不及时", "交付延期", "服务态度问题"],
                        "suggestion": ["希望增加移动端功能", "建议优化审批流程"]},
    "feedback": ["处理及时，非常满意", "问题已解决", "响应有点慢", "工程师很专业", "希望后续加强培训"],
    "terms": "分期付款：合同签订后支付首款，其余按计划回款。",
    "contract_title": "{customer}合同",
    "team_target": "{period} {team}团队目标", "person_target": "{period} {person}个人目标",
    "region_target": "{period} {region}区域目标",
    "regions": {"north": "华北", "east": "华东", "south": "华南", "central": "华中", "west": "西部"},
    "line_target": "{period} {line}产品线目标",
    "lines": {"software": "软件", "hardware": "硬件", "service": "服务", "consulting": "咨询"},
}

EN = {
    "surnames": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
                 "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
                 "Hall", "Young", "King", "Wright", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell"],
    "given": ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
              "William", "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Daniel", "Karen", "Matthew", "Emily",
              "Anthony", "Olivia", "Mark", "Sophia", "Paul", "Grace", "Steven", "Chloe", "Andrew", "Hannah"],
    "cities": ["Boston", "Denver", "Austin", "Seattle", "Chicago", "Atlanta", "Portland", "Phoenix", "Dallas",
               "Detroit", "Houston", "Miami", "Oakland", "Raleigh", "Tampa", "Omaha", "Tucson", "Madison"],
    "brands": ["Northwind", "Bluepeak", "Silverline", "Brightstone", "Evergreen", "Ironwood", "Redwood", "Summit",
               "Clearwater", "Keystone", "Pioneer", "Harbor", "Granite", "Lakeside", "Crescent", "Sterling",
               "Oakridge", "Horizon", "Meridian", "Falcon", "Cobalt", "Westbrook", "Trident", "Beacon"],
    "industry_words": {"software": ["Software", "Digital", "Networks"], "manufacturing": ["Manufacturing", "Machinery", "Electronics"],
                       "finance": ["Capital", "Financial", "Leasing"], "retail": ["Trading", "Retail", "Commerce"],
                       "education": ["Learning", "Education"], "healthcare": ["Medical", "Health", "Pharma"],
                       "other": ["Logistics", "Media", "Industries"]},
    "company_suffix": "Inc.",
    "titles": ["CEO", "Purchasing manager", "IT director", "CFO", "Operations lead", "CTO", "Office manager", "VP Sales"],
    "streets": ["Main St", "Oak Ave", "Market St", "Park Rd", "Lake Dr", "River Rd", "Elm St", "Hill Ave"],
    "products": {"software": [("CRM Standard (user/year)", 1200, "user"), ("CRM Professional (user/year)", 2400, "user"),
                              ("Analytics module", 30000, "set"), ("Mobile approvals module", 15000, "set")],
                 "hardware": [("Time clock terminal", 3500, "unit"), ("Server appliance", 68000, "unit"),
                              ("Barcode scanner", 800, "unit"), ("Meeting display", 16000, "unit")],
                 "service": [("Implementation", 8000, "day"), ("Annual maintenance", 20000, "year"), ("On-site support", 6000, "day")],
                 "consulting": [("Process consulting", 50000, "project"), ("Digital roadmap", 120000, "project"),
                                ("Training course", 10000, "day")]},
    "deal_words": ["digital upgrade", "CRM purchase", "annual renewal", "expansion", "IT build-out", "phase 2",
                   "pilot", "integration project"],
    "follow_subjects": {"call": "Call about needs", "visit": "On-site visit", "wechat": "Message follow-up",
                        "email": "Sent the proposal", "meeting": "Demo meeting"},
    "follow_texts": ["Likes the proposal; asks about price and timeline.", "Technical workshop agreed for next week.",
                     "Budget is going through approval.", "A competitor is talking to them too; stress our service.",
                     "Quote sent; waiting for feedback.", "Decision maker travelling; call again next week.",
                     "Asked for custom features; sizing the work.", "Confirmed quantities and delivery date."],
    "lost_reasons": ["Price too high", "Chose a competitor", "Budget cancelled", "Needs changed", "Decision took too long"],
    "ticket_subjects": {"inquiry": ["How to export a report", "Setting up permissions", "Invoice question"],
                        "fault": ["Cannot sign in", "Terminal offline", "Sync failed", "Printing error"],
                        "complaint": ["Slow response", "Late delivery", "Unfriendly support"],
                        "suggestion": ["More mobile features please", "Simplify the approval steps"]},
    "feedback": ["Quick and helpful", "Solved", "A bit slow", "Very professional engineer", "More training would help"],
    "terms": "Instalments: a first payment on signing, the rest as planned.",
    "contract_title": "{customer} contract",
    "team_target": "{period} {team} team", "person_target": "{period} {person}",
    "region_target": "{period} {region} region",
    "regions": {"north": "North", "east": "East", "south": "South", "central": "Central", "west": "West"},
    "line_target": "{period} {line} product line",
    "lines": {"software": "Software", "hardware": "Hardware", "service": "Services", "consulting": "Consulting"},
}


def words(language: str) -> dict:
    return ZH if language.startswith("zh") else EN


def person_name(rng, language: str) -> str:
    w = words(language)
    if language.startswith("zh"):
        return rng.choice(w["surnames"]) + rng.choice(w["given"])
    return f'{rng.choice(w["given"])} {rng.choice(w["surnames"])}'


def company_name(rng, language: str, industry: str) -> str:
    w = words(language)
    word = rng.choice(w["industry_words"][industry])
    if language.startswith("zh"):
        return f'{rng.choice(w["cities"])}{rng.choice(w["brands"])}{word}{w["company_suffix"]}'
    return f'{rng.choice(w["brands"])} {word} {w["company_suffix"]}'
