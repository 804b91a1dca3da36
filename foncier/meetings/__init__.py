"""The network's meeting. For now its balances between territories (balances): what each EPCI
sent, received and settled over a period, and its land on sale today.
"""
