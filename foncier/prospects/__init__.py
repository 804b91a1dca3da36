"""Company projects (prospects): recording and checks (projects), the shortlist and what was
proposed to the company (shortlist), reading with confidentiality (reading), CSV and Excel
lists (exports), the case's stages (cases), what every step of a case shares (casework), and
the retention of contacts (retention).
"""
