"""Change requests (变更申请): what is to change, why, its impact, the documents it affects and who
approves it; each revision submitted under it names it (doc submit --cr)."""
