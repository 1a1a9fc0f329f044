"""Acting on the analysis: a playbook, target lists with a holdout, receipts and the
measured lift. A plan is recorded in the lake (table `action_plan`, one batch per plan),
so what was planned when, and whom it held out, stays a fact to measure against."""
