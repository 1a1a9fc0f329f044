"""What people see: the HTML report (and, later, the web app and its API)."""
