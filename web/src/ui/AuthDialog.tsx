import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../net/api";
import { useExchange, useStore } from "./hooks";

const MIN_PASSWORD = 8;

/** Sign in or sign up, in a modal dialog. Escape or the Close button dismisses it. */
export function AuthDialog() {
  const exchange = useExchange();
  const { session } = exchange;
  const mode = useStore(session.dialog);
  const notice = useStore(session.notice);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);
  const opener = useRef<Element | null>(null);
  const ids = { title: useId(), email: useId(), password: useId(), error: useId() };

  useEffect(() => {
    if (mode === null) return;
    opener.current = document.activeElement;
    setError(null);
    emailRef.current?.focus();
    return () => {
      if (opener.current instanceof HTMLElement) opener.current.focus();
    };
  }, [mode]);

  if (mode === null) return null;
  const signUp = mode === "signup";
  const close = () => session.dialog.set(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    if (!email.includes("@")) {
      setError("Enter your email address");
      return;
    }
    if (signUp && password.length < MIN_PASSWORD) {
      setError(`Choose a password of at least ${MIN_PASSWORD} characters`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (signUp) await session.signUp(email.trim(), password);
      else await session.signIn(email.trim(), password);
      setPassword("");
      close();
      if (signUp && exchange.config.faucet) {
        exchange.notices.push(
          "info",
          "Welcome! This is a test exchange: Get test funds in Balances.",
        );
      }
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div
      className="overlay"
      onMouseDown={(event) => {
        if (event.target === event.currentTarget) close();
      }}
    >
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={ids.title}
        onKeyDown={(event) => {
          if (event.key === "Escape") close();
        }}
      >
        <h2 id={ids.title}>{signUp ? "Create your Cryptex account" : "Sign in to Cryptex"}</h2>
        {notice !== null && !signUp && (
          <p className="notice" role="alert">
            {notice}
          </p>
        )}
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor={ids.email}>Email</label>
            <input
              id={ids.email}
              ref={emailRef}
              type="email"
              autoComplete="username"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              aria-describedby={error !== null ? ids.error : undefined}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              type="password"
              autoComplete={signUp ? "new-password" : "current-password"}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              aria-describedby={error !== null ? ids.error : undefined}
            />
            {signUp && <p className="hint">At least {MIN_PASSWORD} characters.</p>}
          </div>
          {error !== null && (
            <p className="field-error" id={ids.error} role="alert">
              {error}
            </p>
          )}
          <div className="dialog-actions">
            <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
              {signUp ? "Sign up" : "Sign in"}
            </button>
            <button type="button" className="secondary" onClick={close}>
              Close
            </button>
          </div>
          <p className="switch">
            {signUp ? "Have an account? " : "New here? "}
            <button
              type="button"
              className="link"
              onClick={() => {
                setError(null);
                session.dialog.set(signUp ? "signin" : "signup");
              }}
            >
              {signUp ? "Sign in instead" : "Create an account"}
            </button>
          </p>
        </form>
      </div>
    </div>
  );
}
