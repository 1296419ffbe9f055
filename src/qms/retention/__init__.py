"""Retention periods and legal holds, disposal (销毁审批) and the yearly volumes."""
