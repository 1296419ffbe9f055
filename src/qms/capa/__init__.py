"""NC/CAPA (不合格与纠正预防措施 — the seed's 流程改进): opened from a complaint record, an audit
finding, a review or by hand; actions with owners and due dates; verification of effectiveness and
closure, each by signature; numbered without gaps (CAPA-2026-0001)."""
