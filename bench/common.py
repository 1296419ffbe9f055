"""Shared bench helpers: timing, synthetic Chinese data, printing a table of medians."""

from __future__ import annotations

import random
import statistics
import time
from contextlib import contextmanager

from qms.startup import start

start()      # search indexing subscribes to the writer, as in the CLI

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦许何吕施张孔曹严华金魏陶姜"
GIVEN = ["建国", "海涛", "丽", "伟", "芳", "敏", "静", "磊", "洋", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞"]
CUSTOMERS = ["华东电力设备有限公司", "安徽皖江水泥有限公司", "广州南粤制药有限公司", "山东鲁能机械厂",
             "浙江恒远纺织集团", "四川天府食品有限公司", "湖北长江钢铁股份公司", "江苏苏美达精密制造"]
PRODUCTS = ["空气压缩机 XK-200", "螺杆空压机 XK-160", "无油涡旋空气压缩机 WX-15", "冷冻式干燥机 LD-30",
            "储气罐 CQ-2", "离心式压缩机 LX-500"]
PHRASES = ["排气温度过高", "主电机过载保护跳闸", "油气分离器压差大", "温控阀卡滞", "润滑油乳化", "冷却风扇异响",
           "压力传感器故障", "加载电磁阀不动作", "用户要求上门保养", "询问备件价格", "投诉响应不及时",
           "请求技术培训", "设备年度验证资料", "现场保障服务", "客户满意度回访", "返厂维修进度查询"]


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def sentence(rng: random.Random, n: int = 3) -> str:
    return "，".join(rng.choice(PHRASES) for _ in range(n)) + "。"


def phone_rows(n: int, seed: int = 7, year: int = 2026) -> list[dict]:
    """Rows of 服务电话记录 (QR-SV-022-04), as a month of Excel would hold them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        rows.append({"call_date": f"{year}-{month:02d}-{day:02d}", "call_time": f"{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}",
                     "caller": name(rng), "customer": rng.choice(CUSTOMERS), "phone": f"0{rng.randint(10, 999)}-{rng.randint(1000000, 9999999)}",
                     "product": rng.choice(PRODUCTS), "content": sentence(rng, 4), "handling": sentence(rng, 2),
                     "result": sentence(rng, 1), "handler": name(rng)})
    return rows


def write_csv(path, rows: list[dict]) -> None:
    import csv
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@contextmanager
def timer(out: list):
    start = time.perf_counter()
    yield
    out.append(time.perf_counter() - start)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] if xs else float("nan")


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    print(f"\n## {title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))


def bench_session(ws, config_home, roles=("clerk", "keeper")):
    """State changes need a session (issue 14): an administrator, a `bench` user with `roles`, logged
    in with its token in `config_home` (exported as QMS_CONFIG_HOME for the commands run after)."""
    import os
    from qms.identity.sessions import login
    from qms.integrity.workspace_setup import init_admin
    from qms.identity.users import add_user
    os.environ["QMS_CONFIG_HOME"] = str(config_home)
    admin = init_admin(ws, "admin", name="基准管理员", password="bench-admin-pass")
    add_user(ws, "bench", name="基准", roles=list(roles), password="bench-user-pass", actor=admin)
    login(ws, "bench", "bench-user-pass")
    return admin
