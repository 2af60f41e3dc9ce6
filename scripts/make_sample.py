#!/usr/bin/env python3
"""Writes fixtures/sample/: a small, hand-checkable batch of all nine extracts
in which every item of the mess catalogue (spec/extracts.md) occurs at least
once. The expected accounting is asserted in tests/validate.rs; each messy row
below says what it exercises. Run: python3 scripts/make_sample.py
(needs openpyxl: pip install openpyxl). The persons are invented; their ID
numbers are built valid with the GB 11643 check character."""
import csv, io, os, sys
import openpyxl

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "sample")
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

def pid(region, birth, seq):
    body = f"{region}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, W)) % 11]

# The county 341122 (来安县); one person born elsewhere (110105).
ZW = pid("341122", "19800101", 123)   # 张伟, head of H001
LN = pid("341122", "19820315", 224)   # 李娜, spouse
ZXM = pid("341122", "20100601", 315)  # 张小明, child (student)
WF = pid("341122", "19450210", 442)   # 王芳, H002 特困
AB = pid("341122", "19750808", 551)   # 阿卜杜拉·买买提, H003
CJ = pid("110105", "19900101", 663)   # 陈静, not on the roster
LQ = pid("341122", "19680520", 771)   # 刘强, not on the roster
ZXH = pid("341122", "20180301", 882)  # 赵小红, young child without ID
LEGACY = "341122450210442"            # 王芳's 15-digit legacy number
assert pid("341122", "19450210", 442)[:17] == "34112219450210442"

def typo(i):                           # one digit changed: bad check character
    d = str((int(i[10]) + 1) % 10)
    return i[:10] + d + i[11:]

def swap(i):                           # two neighbours swapped
    return i[:12] + i[13] + i[12] + i[14:]

def write_csv(name, rows, encoding="utf-8", delimiter=",", newline="\n"):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    for r in rows:
        if isinstance(r, str):        # a raw line, written as it stands
            buf.write(r + newline)
        else:
            w.writerow(r)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue().encode(encoding))

def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # roster: XLSX with a title row, two sheets, a blank row and a 合计 row.
    wb = openpyxl.Workbook()
    header = ["户编号", "救助类别", "乡镇（街道）", "村（社区）", "户主姓名", "户主身份证号",
              "成员姓名", "成员身份证号", "与户主关系", "保障人数", "月保障金（元）", "认定日期",
              "申报家庭月收入（元）", "残疾等级"]
    s1 = wb.active; s1.title = "城关镇"
    s1.append(["2025年第三季度低保名册"])
    s1.append(header)
    s1.append(["H001", "低保", "城关镇", "东街社区", "张伟", ZW, "张伟", ZW, "本人", 3, "1,200.00", "2024-03-01", "900", ""])
    s1.append(["H001", "低保", "城关镇", "东街社区", "张伟", ZW, "李娜", LN.lower(), "配偶", 3, "1,200.00", "2024/3/1", "900", "二级"])
    s1.append([])
    s1.append(["H001", "低保", "城关镇", "东街社区", "张伟", ZW, "张小明", ZXM + " ", "子女", 3, "1200元", "20240301", "900", ""])
    s1.append(["合计", "", "", "", "", "", "", "", "", 3, "3600", "", "", ""])
    s2 = wb.create_sheet("河西乡")
    s2.append(["2025年第三季度特困、低收入名册"])
    s2.append(header)
    s2.append(["H002", "特困", "河西乡", "西村", "王芳", WF, "王芳", WF, "本人", 1, "0.08万", 45352, "0", "一级"])
    s2.append(["H003", "低收入", "河西乡", "北村", "阿卜杜拉·买买提", AB, "阿卜杜拉•买买提", AB, "本人", 1, "300", "2024年3月1日", "500", ""])
    s2.append(["H003", "低收入", "河西乡", "北村", "阿卜杜拉·买买提", AB, "阿卜杜拉·买买提", AB, "本人", 1, "300", "二〇二四年", "500", ""])  # rejected: bad_date? (optional: kept, warned)
    s2.append(["H004", "无此类别", "河西乡", "北村", "刘强", LQ, "刘强", LQ, "本人", 1, "300", "2024-03-01", "500", ""])  # rejected: bad_category
    s2.append(["合计", "", "", "", "", "", "", "", "", 3, "", "", "", ""])
    s3 = wb.create_sheet("说明")
    s3.append(["本表由民政局导出，仅供核对使用。"])
    wb.properties.creator = "hedui sample"
    wb.save(os.path.join(OUT, "roster_202511.xlsx"))

    # medical_settlement: GB18030, CRLF, quoted comma and newline, every
    # money and date format, every kind of ID mess, duplicates, conflicts.
    h = ["结算编号", "姓名", "身份证号", "就诊类型", "结算日期", "医疗机构", "主诊断", "总费用",
         "政策范围内费用", "统筹基金支付", "大病保险支付", "医疗救助支付", "个人自付"]
    rows = [h,
        ["S001", "张伟", ZW, "住院", "2025-01-05", "县人民医院,东院", "I10 高血压", "1,234.50", "1000", "500", "0", "100", "634.50"],
        ["S002", "李娜", "'" + LN, "门诊", "2025/1/5", "县中医院", "J06 上呼吸道感染\n复诊", "120元", "100", "60", "0", "0", "60"],
        ["S003", "王芳", " ".join([WF[:6], WF[6:14], WF[14:]]), "住院", "20250105", "县人民医院", "E11 糖尿病", "0.12万", "1000", "600", "0", "50", "550"],
        ["S004", "王芳", LEGACY, "门诊慢特病", "2025.01.05", "县人民医院", "E11 糖尿病", "300", "-", "200", "0", "0", "100"],
        ["S005", "陈静", "".join(chr(ord(c) + 0xFEE0) for c in CJ), "住院", "2025年1月5日", "市一院", "K35 阑尾炎", "8000", "7000", "4000", "0", "0", "4000"],
        ["S006", "刘强", "1.10105E+17", "门诊", "45662", "县人民医院", "I10 高血压", "200", "200", "100", "0", "0", "100"],
        ["S007", "刘强", typo(LQ), "门诊", "2025-02-01", "县人民医院", "I10 高血压", "200", "200", "100", "0", "0", "100"],
        ["S008", "張偉", swap(ZW), "门诊", "2025-02-02", "县人民医院", "I10 高血压", "50", "50", "25", "0", "0", "25"],
        ["S009", "无名", "无", "门诊", "2025-02-03", "县人民医院", "R50 发热", "80", "80", "40", "0", "0", "40"],
        ["S010", "李 娜", LN[:6] + "-" + LN[6:], "门诊", "2025-02-04", "县人民医院", "R50 发热", "80", "80", "40", "0", "0", "40"],
        ["S001", "张伟", ZW, "住院", "2025-01-05", "县人民医院,东院", "I10 高血压", "1,234.50", "1000", "500", "0", "100", "634.50"],  # exact duplicate
        h,  # repeated header
        ["S002", "李娜", LN, "门诊", "2025-01-05", "县中医院", "J06 上呼吸道感染", "130", "100", "60", "0", "0", "70"],  # key conflict with S002
        ["S011", "张伟", ZW, "门诊", "2025-13-01", "县人民医院", "I10", "10", "10", "5", "0", "0", "5"],  # rejected: bad_date
        ["S012", "张伟", ZW, "门诊", "2025-02-05", "县人民医院", "I10", "十元", "10", "5", "0", "0", "5"],  # rejected: bad_money
        ["S013", "张伟", ZW, "急救"],  # rejected: field_count
        ["S014", "孙丽", typo(CJ), "门诊", "2025-02-06", "县人民医院", "R50 发热", "60", "60", "30", "0", "0", "30"],  # typo, no agreeing candidate: DQ01
        ["", "", "", "", "", "", "", "", "", "", "", "", ""],  # blank
    ]
    write_csv("medical_settlement_202511.csv", rows, encoding="gb18030", newline="\r\n")

    # medical_enrollment: UTF-8 with BOM.
    write_csv("medical_enrollment_202511.csv", [
        ["姓名", "身份证号", "险种", "参保状态", "终止原因", "终止日期", "资助参保"],
        ["张伟", "\t" + ZW, "城乡居民医保", "正常参保", "", "", "是"],  # a leading tab
        ["李娜", LN, "城乡居民医保", "正常参保", "", "", "是"],
        ["王芳", WF, "城乡居民医保", "终止", "死亡", "2025-06-30", "是"],
        ["陈静", CJ, "职工医保", "正常参保", "", "", "否"],
        ["阿卜杜拉买买提", AB, "城乡居民基本医疗保险", "正常参保", "", "", "是"],
        ["刘强", LQ, "城乡居民医保", "停止", "", "", "否"],  # rejected: bad_category
    ], encoding="utf-8-sig")

    # education: UTF-8; a young child with no ID, names with annotation,
    # traditional characters and a homophone typo.
    write_csv("education_202511.csv", [
        ["学生姓名", "学生身份证号", "出生日期", "学校名称", "学段", "资助项目", "资助金额（元）", "困境类型", "监护人姓名", "监护人身份证号", "学年"],
        ["张晓明", ZXM, "2010-06-01", "城关初级中学", "初中", "无", "0", "低保家庭", "张伟", ZW, "2025-2026"],
        ["赵小红（曾用名赵晓红）", "", "2018-03-01", "城关幼儿园", "学前", "无", "", "孤儿", "赵\u3000\u3000刚", "/", "2025-2026"],  # full-width doubled space; "/" for none
        ["陳靜", CJ, "1990-01-01", "县职教中心", "中职", "免学费", "2,000", "无", "", "", "2025-2026"],
        ["张小明", ZXM, "2010-06-01", "城关初级中学", "初中", "无", "0", "低保家庭", "张伟", ZW, "2025-2026"],  # key conflict (name differs)
    ])

    # property: CSV, co-owned unit, a 注销 row.
    write_csv("property_202511.csv", [
        ["权利人姓名", "权利人证件号", "不动产单元号", "坐落", "规划用途", "建筑面积（㎡）", "登记日期", "权利状态"],
        ["张伟", ZW, "341122001001GB00001F00010001", "城关镇东街1号", "住宅", "89.5", "2015-06-01", "现势"],
        ["李娜", LN, "341122001001GB00001F00010001", "城关镇东街1号", "住宅", "89.5", "2015-06-01", "现势"],
        ["张伟", ZW, "341122001001GB00002F00010001", "城关镇东街2号", "商业", "40", "2019-01-01", "现势"],
        ["陈静", CJ, "341122001001GB00003F00010001", "城关镇南街3号", "住宅", "120平方米", "2012-01-01", "注销"],
        ["阿卜杜拉.买买提", AB, "341122002001GB00004F00010001", "河西乡北村4号", "车位", "12", "2020-05-01", "现势"],  # '.' separator
    ])

    # housing_safety: XLSX, one sheet, title row and 合计 row.
    wb = openpyxl.Workbook(); s = wb.active; s.title = "台账"
    s.append(["2025年农村住房安全鉴定台账"])
    s.append(["户主姓名", "户主身份证号", "乡镇", "村", "鉴定等级", "鉴定日期", "改造状态"])
    s.append(["王芳", WF, "河西乡", "西村", "D级", "2025-03-01", "未纳入"])
    s.append(["刘强", LQ, "河西乡", "北村", "C", 45717, "已纳入计划"])
    s.append(["合计", "", "", "", "", "", ""])
    wb.properties.creator = "hedui sample"
    wb.save(os.path.join(OUT, "housing_safety_202511.xlsx"))

    # contribution: TSV, UTF-8 with BOM.
    write_csv("contribution_202511.tsv", [
        ["姓名", "身份证号", "单位名称", "单位类型", "费款所属期", "缴费基数（元）"],
        ["李娜", LN, "城关镇卫生院", "事业单位", "202503", "4,200"],
        ["李娜", LN, "城关镇卫生院", "事业单位", "2025-04", "4200.00"],
        ["陈静", CJ, "某某科技有限公司", "企业", "2025年5月", "6000"],
        ["阿卜杜拉・买买提", AB, "河西乡农贸市场", "个体工商户", "2025.10", "1000"],  # '・' separator
        ["陈静", CJ, "某某科技有限公司", "企业", "202513", "6000"],  # rejected: bad_period
    ], encoding="utf-8-sig", delimiter="\t")

    # unemployment: plain UTF-8.
    write_csv("unemployment_202511.csv", [
        ["姓名", "身份证号", "登记日期", "状态"],
        ["刘强", LQ, "2023-05-10", "失业"],
        ["陈静", CJ, "2024-01-15", "已就业"],
    ])

    # pension: GB18030 (GBK) without CRLF; a 15-digit legacy number.
    write_csv("pension_202511.csv", [
        ["姓名", "身份证号", "发放月份", "发放金额（元）"],
        ["王芳", LEGACY, "202510", "180.00"],
        ["王芳", WF, "202511", "180.00"],
    ], encoding="gb18030")

    # A file hedui does not recognise: listed as ignored.
    with open(os.path.join(OUT, "README.txt"), "w", encoding="utf-8") as f:
        f.write("样例批次：九类抽取文件，每种常见数据问题至少出现一次。\n")

if __name__ == "__main__":
    main()
