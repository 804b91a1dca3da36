"""Company projects (prospects): recording, the shortlist, proposals to the company, the case's
stages, casework shared by every step of a case, and the retention of contacts."""
