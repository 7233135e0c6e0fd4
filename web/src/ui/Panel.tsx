import { type ReactNode, useId } from "react";

/** A region headed by its title: screen readers list it, tests find it by that name. */
export function Panel(props: {
  title: string;
  area: string;
  active: boolean;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  hiddenTitle?: boolean;
  state?: string;
  id?: string;
}) {
  const id = useId();
  return (
    <section
      id={props.id}
      className={`panel ${props.className ?? ""}`}
      aria-labelledby={id}
      data-area={props.area}
      data-active={props.active ? "" : undefined}
      data-state={props.state}
    >
      <header className="panel-head">
        <h2 id={id} className={props.hiddenTitle ? "sr-only" : undefined}>
          {props.title}
        </h2>
        {props.actions}
      </header>
      <div className="panel-body">{props.children}</div>
    </section>
  );
}
