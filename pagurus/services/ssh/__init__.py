"""git over SSH: the built-in asyncssh server and the OpenSSH helpers.

``commands`` parses what the client asked to run (shared by every entry
point), ``gate`` decides with the database whether it may run and builds the
git child's environment, ``server`` is the asyncssh daemon and ``hostkeys``
keeps its host keys under ``<data>/ssh/``.
"""
