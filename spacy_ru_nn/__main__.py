from .experiments import app  # the user commands and the experiment commands, on one app

if __name__ == "__main__":
    app()
