"""The original service's design, for the differential test (`test_original_contract.py`).

A Flask 3 app with a SQLAlchemy `users` table (id, email, hashed_password, session_id,
reset_token), bcrypt, `jsonify`, `abort` and `redirect`: the seven routes of the contract and
nothing more, written the way the original teaching project shapes them (a DB class with
`add_user`, `find_user_by` and `update_user`, an Auth class with every rule, the app talking only
to Auth). It runs on Werkzeug's own server, whose status lines and headers are what the original's
clients saw.
"""

import threading
import uuid

import bcrypt
from flask import Flask, abort, jsonify, redirect, request
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.exc import InvalidRequestError, NoResultFound
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from werkzeug.serving import make_server


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(250), nullable=False)
    hashed_password: Mapped[str] = mapped_column(String(250), nullable=False)
    session_id: Mapped[str] = mapped_column(String(250), nullable=True)
    reset_token: Mapped[str] = mapped_column(String(250), nullable=True)


class DB:
    def __init__(self):
        # One in-memory database shared by the server's threads.
        self._engine = create_engine("sqlite://", poolclass=StaticPool,
                                     connect_args={"check_same_thread": False})
        Base.metadata.create_all(self._engine)
        self._session = Session(self._engine, expire_on_commit=False)
        self._lock = threading.Lock()

    def add_user(self, email, hashed_password):
        with self._lock:
            user = User(email=email, hashed_password=hashed_password)
            self._session.add(user)
            self._session.commit()
            return user

    def find_user_by(self, **kwargs):
        with self._lock:
            for key in kwargs:
                if not hasattr(User, key):
                    raise InvalidRequestError()
            user = self._session.query(User).filter_by(**kwargs).first()
            if user is None:
                raise NoResultFound()
            return user

    def update_user(self, user_id, **kwargs):
        user = self.find_user_by(id=user_id)
        with self._lock:
            for key, value in kwargs.items():
                if not hasattr(User, key):
                    raise ValueError()
                setattr(user, key, value)
            self._session.commit()


def _hash_password(password):
    # bcrypt 5 raises ValueError for a password over 72 bytes.
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=4)).decode()


def _generate_uuid():
    return str(uuid.uuid4())


class Auth:
    def __init__(self):
        self._db = DB()

    def register_user(self, email, password):
        try:
            self._db.find_user_by(email=email)
        except NoResultFound:
            return self._db.add_user(email, _hash_password(password))
        raise ValueError(f"User {email} already exists")

    def valid_login(self, email, password):
        try:
            user = self._db.find_user_by(email=email)
        except NoResultFound:
            return False
        return bcrypt.checkpw(password.encode("utf-8"), user.hashed_password.encode())

    def create_session(self, email):
        try:
            user = self._db.find_user_by(email=email)
        except NoResultFound:
            return None
        session_id = _generate_uuid()
        self._db.update_user(user.id, session_id=session_id)
        return session_id

    def get_user_from_session_id(self, session_id):
        if session_id is None:
            return None
        try:
            return self._db.find_user_by(session_id=session_id)
        except NoResultFound:
            return None

    def destroy_session(self, user_id):
        self._db.update_user(user_id, session_id=None)

    def get_reset_password_token(self, email):
        try:
            user = self._db.find_user_by(email=email)
        except NoResultFound:
            raise ValueError()
        reset_token = _generate_uuid()
        self._db.update_user(user.id, reset_token=reset_token)
        return reset_token

    def update_password(self, reset_token, password):
        try:
            user = self._db.find_user_by(reset_token=reset_token)
        except NoResultFound:
            raise ValueError()
        self._db.update_user(user.id, hashed_password=_hash_password(password), reset_token=None)


def create_app():
    app = Flask(__name__)
    auth = Auth()

    @app.route("/", methods=["GET"])
    def welcome():
        return jsonify({"message": "Bienvenue"})

    @app.route("/users", methods=["POST"])
    def users():
        email = request.form.get("email")
        password = request.form.get("password")
        try:
            auth.register_user(email, password)
            return jsonify({"email": email, "message": "user created"})
        except ValueError:
            return jsonify({"message": "email already registered"}), 400

    @app.route("/sessions", methods=["POST"])
    def login():
        email = request.form.get("email")
        password = request.form.get("password")
        if not auth.valid_login(email, password):
            abort(401)
        session_id = auth.create_session(email)
        response = jsonify({"email": email, "message": "logged in"})
        response.set_cookie("session_id", session_id)
        return response

    @app.route("/sessions", methods=["DELETE"])
    def logout():
        user = auth.get_user_from_session_id(request.cookies.get("session_id"))
        if user is None:
            abort(403)
        auth.destroy_session(user.id)
        return redirect("/")

    @app.route("/profile", methods=["GET"])
    def profile():
        user = auth.get_user_from_session_id(request.cookies.get("session_id"))
        if user is None:
            abort(403)
        return jsonify({"email": user.email}), 200

    @app.route("/reset_password", methods=["POST"])
    def get_reset_password_token():
        email = request.form.get("email")
        try:
            reset_token = auth.get_reset_password_token(email)
        except ValueError:
            abort(403)
        return jsonify({"email": email, "reset_token": reset_token}), 200

    @app.route("/reset_password", methods=["PUT"])
    def update_password():
        email = request.form.get("email")
        reset_token = request.form.get("reset_token")
        new_password = request.form.get("new_password")
        try:
            auth.update_password(reset_token, new_password)
        except ValueError:
            abort(403)
        return jsonify({"email": email, "message": "Password updated"}), 200

    return app


class OriginalServer:
    """The app on Werkzeug's threaded server on a free loopback port, in a thread of the test."""

    def __init__(self):
        self._server = make_server("127.0.0.1", 0, create_app(), threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
