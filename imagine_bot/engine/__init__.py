"""Behind the bot, and knowing neither Discord nor plugins: the domain types a job passes
through (``spec``), the GPU runtime (``gpu/``), image intake and storage (``images/``) and the
job lifecycle (``jobs/``)."""
