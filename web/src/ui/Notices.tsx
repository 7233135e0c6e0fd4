import { useExchange, useStore } from "./hooks";

/** Fills and other announcements: a polite live region, so screen readers read them out. */
export function NoticeList() {
  const exchange = useExchange();
  const notices = useStore(exchange.notices.list);
  return (
    <div className="notices" role="status" aria-live="polite" aria-label="Notifications">
      {notices.map((notice) => (
        <div key={notice.id} className={`notice-item ${notice.tone}`}>
          <span>{notice.text}</span>
          <button
            type="button"
            className="link"
            aria-label="Dismiss"
            onClick={() => exchange.notices.dismiss(notice.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
