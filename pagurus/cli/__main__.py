"""``python -m pagurus.cli``: what ``serve`` uses to start its children."""

from pagurus.cli import main

if __name__ == "__main__":
    main()
