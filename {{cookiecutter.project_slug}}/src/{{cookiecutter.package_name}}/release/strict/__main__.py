"""`python -m <package>.release.strict --host 127.0.0.1 --port 5123`: serve the strict local AWS."""

from .server import main

if __name__ == "__main__":
    main()
