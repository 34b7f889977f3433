"""The bot's side of a job, shared by every feature: the desk that plans, submits and announces
it, the watcher that keeps its message in step and delivers it, its buttons (the one custom_id
grammar), and how results reach Discord. Features (``bot/exts/``) use it; it imports none."""
