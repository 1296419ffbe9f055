"""Read-and-understood (培训/阅读确认): who must read which revision, by department and/or role;
a release assigns them, a person moved into a department gets the current revisions, and each
acknowledgement is an e-signature meaning 已阅读并理解."""
