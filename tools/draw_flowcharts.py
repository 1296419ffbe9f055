"""Draw the flow charts the example procedures show as figures (图1 …) into examples/.

Run:  .venv/bin/python tools/draw_flowcharts.py   (PNG at 200 dpi, Noto Sans CJK SC)

A flow chart is a column of boxes joined by arrows; a decision is a diamond with a
"否" branch back to an earlier step. Kept as code so the PNGs can be redrawn.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from qms.adapters.pdf import cjk_font  # noqa: E402

DPI = 200
W = 1500
BOX_W, BOX_H, GAP = 760, 110, 70


def font(size: int):
    f = cjk_font()
    return ImageFont.truetype(str(f.path), size, index=f.index)


def draw(steps: list[tuple[str, str]], out: Path, loop_back: tuple[int, int] | None = None,
         side_notes: dict[int, str] | None = None) -> None:
    """steps: (kind, text) with kind box | start | decision; loop_back: (from decision, to step)."""
    side_notes = side_notes or {}
    h = 80 + len(steps) * (BOX_H + GAP)
    im = Image.new("RGB", (W, h), "white")
    d = ImageDraw.Draw(im)
    f, small = font(40), font(32)
    cx = W // 2 - 60
    centres = []
    for i, (kind, text) in enumerate(steps):
        top = 40 + i * (BOX_H + GAP)
        x0, x1 = cx - BOX_W // 2, cx + BOX_W // 2
        y0, y1 = top, top + BOX_H
        if kind == "start":
            d.rounded_rectangle((x0 + 120, y0, x1 - 120, y1), radius=BOX_H // 2, outline="black", width=4)
        elif kind == "decision":
            d.polygon([(cx, y0 - 10), (x1 - 40, (y0 + y1) // 2), (cx, y1 + 10), (x0 + 40, (y0 + y1) // 2)],
                      outline="black", width=4)
        else:
            d.rectangle((x0, y0, x1, y1), outline="black", width=4)
        tw = d.textlength(text, font=f)
        d.text((cx - tw / 2, (y0 + y1) / 2 - 24), text, font=f, fill="black")
        if i in side_notes:
            d.text((x1 + 30, (y0 + y1) / 2 - 20), side_notes[i], font=small, fill="black")
        centres.append((y0, y1))
        if i:
            py1 = centres[i - 1][1] + (10 if steps[i - 1][0] == "decision" else 0)
            ty = y0 - (10 if kind == "decision" else 0)
            d.line((cx, py1, cx, ty), fill="black", width=4)
            d.polygon([(cx - 14, ty - 24), (cx + 14, ty - 24), (cx, ty)], fill="black")
            if steps[i - 1][0] == "decision":
                d.text((cx + 16, py1 + 8), "是", font=small, fill="black")
    if loop_back:
        a, b = loop_back
        ya = (centres[a][0] + centres[a][1]) // 2
        yb = (centres[b][0] + centres[b][1]) // 2
        xr = cx + BOX_W // 2 + 40
        x_out = cx + BOX_W // 2 - 40
        edge = W - 90
        d.line((x_out, ya, edge, ya), fill="black", width=4)
        d.line((edge, ya, edge, yb), fill="black", width=4)
        d.line((edge, yb, xr - 40, yb), fill="black", width=4)
        d.polygon([(xr - 40, yb), (xr - 16, yb - 14), (xr - 16, yb + 14)], fill="black")
        d.text((x_out + 20, ya - 44), "否", font=small, fill="black")
    im.save(out, dpi=(DPI, DPI), optimize=True)
    print(f"wrote {out}")


def main() -> int:
    figs = ROOT / "examples" / "procedures" / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    draw([("start", "用户提出技术服务需求"),
          ("box", "客户服务中心受理并记录"),
          ("decision", "需到现场服务？"),
          ("box", "签发售后服务通知单"),
          ("box", "服务人员到达现场实施服务"),
          ("box", "填写现场服务报告"),
          ("box", "用户签署姓名或加盖公章"),
          ("box", "编号归档 · 每年汇编成册")],
         figs / "tech-service-flow.png", side_notes={1: "服务电话记录", 2: "否：电话/传真指导"})
    draw([("start", "合同 / 生产计划"),
          ("box", "生产部按计划组织生产"),
          ("box", "质量安全部检验、试验"),
          ("decision", "符合接收准则？"),
          ("box", "包装并核对随机文件"),
          ("box", "库房按合同发货"),
          ("box", "售后服务与信息收集")],
         figs / "delivery-flow.png", loop_back=(3, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
