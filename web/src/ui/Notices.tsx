import { useExchange, useStore } from "./hooks";

/** Fills and other announcements: a polite live region, so screen readers read them out. The
 *  newest shows; dismissing it shows the one before, until each expires. */
export function NoticeList() {
  const exchange = useExchange();
  const notices = useStore(exchange.notices.list);
  return (
    <div className="notices" role="status" aria-live="polite" aria-label="Notifications">
      {notices.map((notice, index) => (
        <div key={notice.id} className={`notice-item ${notice.tone}`}>
          <span className="notice-text">{notice.text}</span>
          {index > 0 && (
            <span className="notice-more" title="Earlier notices: dismiss this one to see them">
              +{index}
            </span>
          )}
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
