"""Shared-benefit agreements (conventions de partage) between the EPCIs of a redirection.

Modules: ``rules`` (who may do what, what every step shares), ``terms`` (checked terms,
create and edit), ``signatures``, ``documents`` (the signed PDF), ``status`` (in force,
ended), ``reading`` (one agreement, the list), ``ledger`` (the network's totals, CSV and
Excel) and ``sharing`` (the exact calculator).

Who may do what (checked in the core, whatever the page, export or command):

- **everyone** signed in reads every agreement's parties, amounts, shares and status: the
  network's aggregates are visible to all members alike;
- the agreement's **details** — its title, free texts, the companies it covers and its
  signed document — are read only by the coordinateur and by the référents of a party EPCI
  that is in the know of every project the agreement covers (foncier.prospects.casework): the others
  see « Convention n° 12 » and « entreprise confidentielle »;
- every party EPCI must be in the know of every project the agreement covers: nobody signs
  terms they may not read (checked on every create and edit);
- the référents of a party EPCI and the coordinateur create and change an agreement while it
  is a draft (brouillon), and move it from signed to in force, then ended (STATUS_MOVES);
- a référent records their own EPCI's signature, given to the version of the terms they
  read (a signature sent from an older version is refused); once every party has signed the
  agreement is « signée » and its terms no longer change. Changing the terms of a draft
  erases the signatures already recorded (they were given to other terms) and tells those
  parties. Every signature moves the agreement's version on, and an edit locks the agreement
  before reading it: an edit started before a signature is refused, never saved over it.
  Each change is all or nothing, its notices included (a failing mail server leaves none).

An agreement covers accepted redirections between two of its parties; a référent covers only
redirections their EPCI sent or received (the coordinateur any); a redirection is covered by
one live (not ended) agreement at most, so the ledger counts nothing twice — the covered
redirections are locked while this is checked, so two people covering one at once end with
one agreement. The agreement's steps (established, each signature, signed by all, in force,
ended; a project covered or no longer covered by an edit, signatures an edit erased) are
written — before any notice, in the same savepoint as the change — in the path of the projects
it covers (CaseEvent « agreement_* », worded by foncier.redirections.case_steps), and a project page
names the agreement covering each redirection (agreements_for_redirections).
"""
