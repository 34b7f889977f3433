"""Discord only: the client, access rules, message wording, delivery and the features in
``exts/``. The only package that imports discord."""
