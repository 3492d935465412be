"""Pickup and drop-off lockers (自助寄取柜): their rules (pure, `rules`) and the hall's keeper (`keeper`)."""
