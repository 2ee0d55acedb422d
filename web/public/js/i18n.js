// Every string the map shows, in English and Ukrainian. `t(key, vars)` looks a key up in the
// current language; `{name}` placeholders are filled from `vars`.

export const STRINGS = {
  en: {
    title: 'airshield — live map',
    subtitle: 'early warning of air threats',
    lang_toggle: 'УКР',
    lang_toggle_label: 'Українською',
    live: 'LIVE',
    replay: 'REPLAY',
    go_live: 'Live',
    play: 'Play',
    pause: 'Pause',
    speed: 'Speed',
    timeline: 'Timeline of the night',
    time_zone: 'Kyiv time',
    layers: 'Layers',
    layer_tracks: 'Tracks',
    layer_cones: 'Predicted cones',
    layer_sensors: 'Sensors',
    layer_cities: 'Cities',
    legend: 'Legend',
    state_quiet: 'No alert',
    state_pre_alert: 'Pre-alert',
    state_alert: 'Air raid alert',
    badge_pre_alert: 'Pre-alert',
    badge_alert: 'ALERT',
    cls_drone: 'Drone (Shahed type)',
    cls_jet: 'Jet drone',
    cls_cruise: 'Cruise missile',
    cls_ballistic: 'Ballistic missile',
    cls_aircraft: 'Aircraft',
    cls_unknown: 'Unknown',
    letter_drone: 'D',
    letter_jet: 'J',
    letter_cruise: 'C',
    letter_ballistic: 'B',
    letter_aircraft: 'A',
    letter_unknown: '?',
    cone: 'Predicted path (cone)',
    sensor_ok: 'Sensor reporting',
    sensor_silent: 'Silent sensor (coverage gap dashed)',
    city: 'City',
    kind_acoustic: 'Acoustic node',
    kind_radar: 'Radar',
    kind_observer: 'Observer',
    kind_position: 'Partner system',
    kind_adsb: 'ADS-B',
    conn_connecting: 'Connecting…',
    conn_open: 'Live stream connected',
    conn_reconnecting: 'Stream lost, reconnecting…',
    conn_closed: 'Stream closed, retrying…',
    loading: 'Loading…',
    load_error: 'Could not load {what}: {error}',
    in_alert_now: 'Regions in alert or pre-alert',
    none_in_alert: 'No region is in alert.',
    click_region: 'Click a region for its alert reason and history.',
    region: 'Region',
    state: 'State',
    since: 'Since',
    reason: 'Reason',
    history: 'Alert history',
    no_history: 'No alerts in this region tonight.',
    close: 'Close',
    threats: 'Threats',
    inside: '{n} inside the region',
    eta: 'Nearest arrives in {eta}',
    eta_bounds: 'Nearest arrives in {eta} (between {lo} and {hi})',
    eta_lo_only: 'Nearest may arrive in {lo} at the earliest',
    sensors_behind: 'Seen by',
    confidence: 'Confidence',
    operator: 'Operator {user}: {note}',
    operator_public: 'A duty officer acted on this alert ({action}).',
    officer_title: 'Duty officer',
    sensors_sign_in: 'Shown to duty officers: sign in below.',
    officer_hint: 'Sign in with your token for the live picture to the metre and, as an operator, to raise, extend or cancel alerts.',
    token_label: 'Token',
    sign_in: 'Sign in',
    sign_out: 'Sign out',
    signed_in_as: 'Signed in as {id} ({role})',
    sign_in_failed: 'Not signed in: {why}',
    role_viewer: 'viewer',
    role_operator: 'duty officer',
    role_admin: 'admin',
    act_title: 'Act on this region',
    act_reason: 'Reason (kept in the audit trail)',
    act_minutes: 'Minutes',
    act_raise: 'Raise alert',
    act_extend: 'Extend alert',
    act_cancel: 'Cancel alert',
    act_sent: 'Sent: {action}. It applies at the next step ({t}).',
    act_refused: 'Refused: {why}',
    act_need_reason: 'Say why: a reason is required.',
    act_live_only: 'Commands are given in the live view.',
    audit_title: 'Audit trail',
    audit_none: 'No commands for this region.',
    action_raise: 'raise',
    action_extend: 'extend',
    action_cancel: 'cancel',
    outcome_applied: 'applied',
    outcome_rejected: 'rejected',
    sighting: 'A citizen observer reported a threat nearby {ago} ago',
    heard: 'Sensors heard something like a threat nearby {ago} ago, not yet confirmed',
    here: 'At the point you clicked',
    here_title: 'Is there an alert where I am?',
    here_choose: 'Choose where you are',
    here_locate: 'Use my location',
    here_or_city: 'or choose a city',
    here_pick_city: '— a city —',
    here_privacy: 'Your position is sent only to this service, rounded to about 1 km, to ask about your area; it is remembered in this browser only.',
    here_locate_failed: 'Your location is not available ({why}): choose a city.',
    here_area: 'Alert area: {region}',
    here_area_threat: 'The first threat may reach the area in {lo} at the earliest ({cls})',
    here_area_inside: '{cls} inside the area now',
    here_as_of: 'Updated {t} (Kyiv time); asked again every 15 s and at every alert change',
    here_outside: 'Outside the covered area',
    here_unreachable: 'The service cannot be reached ({why}); trying again. If you hear a siren, go to the shelter.',
    here_to_map: 'The live map',
    here_unknown: 'Status not known',
    here_unknown_advice: 'No answer from the service for {s} s. If you hear a siren, go to the shelter.',
    here_asking: 'Asking…',
    here_none: 'no threat is expected within {km} km',
    here_now: '{cls} may be within {km} km now',
    here_eta: '{cls} may come within {km} km in {lo} at the earliest',
    here_soon: '{cls} may come within {km} km in less than a minute',
    minutes: '{n} min',
    seconds: '{n} s',
    unknown_time: 'unknown',
    track: 'Track {id}',
    speed_kmh: '{n} km/h',
    altitude_m: 'altitude {n} m',
    track_not_threat: 'not a threat',
    sensor_last_seen: 'last report {time}',
    silent_flag: 'SILENT',
    sensors_title: 'Sensors',
    sensors_count: '{n}',
    silent_count: '{n} silent',
    population: 'population {n}',
    ev_pre_alert: 'Pre-alert',
    ev_alert: 'Alert',
    ev_update: 'Update',
    ev_all_clear: 'All-clear',
    ev_pre_alert_end: 'Pre-alert ended',
    'rule_eta-within-lead': 'A threat arrives within the warning lead time',
    'rule_threat-inside': 'A threat is inside the region',
    'rule_expected-within-horizon': 'A threat may arrive within the forecast horizon',
    'rule_clear-after-hold-off': 'All-clear after the hold-off: no threat inside, expected or seen by citizens',
    'rule_pre-alert-lapsed': 'Pre-alert lapsed: no threat expected any more',
    rule_changed: 'The threats changed',
    rule_refresh: 'Refreshed (still in force)',
    'rule_superseded-by-alert': 'Superseded by an alert',
    'rule_operator-raise': 'Raised by a duty officer',
    'rule_operator-extend': 'Extended by a duty officer',
    'rule_operator-cancel': 'Cancelled by a duty officer',
    not_installed: 'Map failed to start: {error}',
  },
  uk: {
    title: 'airshield — карта наживо',
    subtitle: 'раннє попередження про повітряні загрози',
    lang_toggle: 'ENG',
    lang_toggle_label: 'In English',
    live: 'НАЖИВО',
    replay: 'ПОВТОР',
    go_live: 'Наживо',
    play: 'Відтворити',
    pause: 'Пауза',
    speed: 'Швидкість',
    timeline: 'Хронологія ночі',
    time_zone: 'за київським часом',
    layers: 'Шари',
    layer_tracks: 'Траси цілей',
    layer_cones: 'Прогнозні конуси',
    layer_sensors: 'Сенсори',
    layer_cities: 'Міста',
    legend: 'Умовні позначення',
    state_quiet: 'Немає тривоги',
    state_pre_alert: 'Попередження',
    state_alert: 'Повітряна тривога',
    badge_pre_alert: 'Попередження',
    badge_alert: 'ТРИВОГА',
    cls_drone: 'Дрон (типу «Шахед»)',
    cls_jet: 'Реактивний дрон',
    cls_cruise: 'Крилата ракета',
    cls_ballistic: 'Балістична ракета',
    cls_aircraft: 'Літак',
    cls_unknown: 'Невідомо',
    letter_drone: 'Д',
    letter_jet: 'Р',
    letter_cruise: 'К',
    letter_ballistic: 'Б',
    letter_aircraft: 'Л',
    letter_unknown: '?',
    cone: 'Прогнозний шлях (конус)',
    sensor_ok: 'Сенсор на зв’язку',
    sensor_silent: 'Сенсор мовчить (пунктир — непокрита зона)',
    city: 'Місто',
    kind_acoustic: 'Акустичний вузол',
    kind_radar: 'Радар',
    kind_observer: 'Спостерігач',
    kind_position: 'Партнерська система',
    kind_adsb: 'ADS-B',
    conn_connecting: 'З’єднання…',
    conn_open: 'Потік подій під’єднано',
    conn_reconnecting: 'Потік перервано, перепід’єднання…',
    conn_closed: 'Потік закрито, повторна спроба…',
    loading: 'Завантаження…',
    load_error: 'Не вдалося завантажити {what}: {error}',
    in_alert_now: 'Регіони з тривогою або попередженням',
    none_in_alert: 'Тривоги немає в жодному регіоні.',
    click_region: 'Натисніть на регіон, щоб побачити причину тривоги та її історію.',
    region: 'Регіон',
    state: 'Стан',
    since: 'Від',
    reason: 'Причина',
    history: 'Історія тривог',
    no_history: 'Цієї ночі тривог у регіоні не було.',
    close: 'Закрити',
    threats: 'Загрози',
    inside: 'у межах регіону: {n}',
    eta: 'Найближча прибуде через {eta}',
    eta_bounds: 'Найближча прибуде через {eta} (від {lo} до {hi})',
    eta_lo_only: 'Найближча може прибути щонайменше через {lo}',
    sensors_behind: 'Виявили',
    confidence: 'Достовірність',
    operator: 'Черговий {user}: {note}',
    operator_public: 'Черговий змінив цю тривогу вручну ({action}).',
    officer_title: 'Черговий',
    sensors_sign_in: 'Видно черговим: увійдіть нижче.',
    officer_hint: 'Увійдіть зі своїм токеном, щоб бачити живу картину з точністю до метра, а як черговий — оголошувати, продовжувати чи скасовувати тривоги.',
    token_label: 'Токен',
    sign_in: 'Увійти',
    sign_out: 'Вийти',
    signed_in_as: 'Ви увійшли як {id} ({role})',
    sign_in_failed: 'Не вдалося увійти: {why}',
    role_viewer: 'перегляд',
    role_operator: 'черговий',
    role_admin: 'адміністратор',
    act_title: 'Дії щодо регіону',
    act_reason: 'Причина (зберігається в журналі дій)',
    act_minutes: 'Хвилин',
    act_raise: 'Оголосити тривогу',
    act_extend: 'Продовжити тривогу',
    act_cancel: 'Скасувати тривогу',
    act_sent: 'Надіслано: {action}. Діє з наступного кроку ({t}).',
    act_refused: 'Відхилено: {why}',
    act_need_reason: 'Вкажіть причину: вона обов’язкова.',
    act_live_only: 'Команди подаються в живому перегляді.',
    audit_title: 'Журнал дій',
    audit_none: 'Команд щодо цього регіону не було.',
    action_raise: 'оголошення',
    action_extend: 'продовження',
    action_cancel: 'скасування',
    outcome_applied: 'виконано',
    outcome_rejected: 'відхилено',
    sighting: 'Очевидець повідомив про загрозу поблизу {ago} тому',
    heard: 'Датчики чули поблизу щось схоже на загрозу {ago} тому, ще не підтверджено',
    here: 'У точці, яку ви обрали',
    here_title: 'Чи є тривога там, де я?',
    here_choose: 'Оберіть, де ви',
    here_locate: 'Визначити, де я',
    here_or_city: 'або оберіть місто',
    here_pick_city: '— місто —',
    here_privacy: 'Ваше місцезнаходження надсилається лише цьому сервісу, округлене до 1 км, щоб запитати про вашу місцевість; запам’ятовується лише в цьому браузері.',
    here_locate_failed: 'Місцезнаходження недоступне ({why}): оберіть місто.',
    here_area: 'Зона тривоги: {region}',
    here_area_threat: 'Перша загроза може досягти зони щонайшвидше через {lo} ({cls})',
    here_area_inside: '{cls} уже в межах зони',
    here_as_of: 'Оновлено о {t} (за київським часом); оновлюється кожні 15 с і за кожної зміни тривоги',
    here_outside: 'Поза зоною покриття',
    here_unreachable: 'Сервіс недоступний ({why}); пробуємо знову. Якщо чуєте сирену, йдіть в укриття.',
    here_to_map: 'Карта в реальному часі',
    here_unknown: 'Стан невідомий',
    here_unknown_advice: 'Сервіс не відповідає вже {s} с. Якщо чуєте сирену, йдіть в укриття.',
    here_asking: 'Запитуємо…',
    here_none: 'ближче ніж за {km} км загроз не очікується',
    here_now: '{cls} може бути ближче ніж за {km} км уже зараз',
    here_eta: '{cls} може опинитися ближче ніж за {km} км щонайшвидше через {lo}',
    here_soon: '{cls} може опинитися ближче ніж за {km} км уже протягом хвилини',
    minutes: '{n} хв',
    seconds: '{n} с',
    unknown_time: 'невідомо',
    track: 'Траса {id}',
    speed_kmh: '{n} км/год',
    altitude_m: 'висота {n} м',
    track_not_threat: 'не загроза',
    sensor_last_seen: 'останній звіт {time}',
    silent_flag: 'МОВЧИТЬ',
    sensors_title: 'Сенсори',
    sensors_count: '{n}',
    silent_count: 'мовчать: {n}',
    population: 'населення {n}',
    ev_pre_alert: 'Попередження',
    ev_alert: 'Тривога',
    ev_update: 'Оновлення',
    ev_all_clear: 'Відбій',
    ev_pre_alert_end: 'Кінець попередження',
    'rule_eta-within-lead': 'Загроза прибуде раніше, ніж минає час на попередження',
    'rule_threat-inside': 'Загроза в межах регіону',
    'rule_expected-within-horizon': 'Загроза може прибути в межах горизонту прогнозу',
    'rule_clear-after-hold-off': 'Відбій після витримки: загроз у регіоні немає, не очікується, очевидці їх не бачать',
    'rule_pre-alert-lapsed': 'Попередження минуло: загроз більше не очікується',
    rule_changed: 'Загрози змінилися',
    rule_refresh: 'Оновлено (чинне)',
    'rule_superseded-by-alert': 'Замінено тривогою',
    'rule_operator-raise': 'Оголошено черговим',
    'rule_operator-extend': 'Продовжено черговим',
    'rule_operator-cancel': 'Скасовано черговим',
    not_installed: 'Карта не запустилася: {error}',
  },
};

let lang = (() => {
  try {
    const saved = localStorage.getItem('airshield.lang');
    if (saved === 'en' || saved === 'uk') return saved;
  } catch { /* storage may be disabled */ }
  return (navigator.language || 'en').toLowerCase().startsWith('uk') ? 'uk' : 'en';
})();

const listeners = [];

export function getLang() { return lang; }

export function setLang(next) {
  lang = next === 'uk' ? 'uk' : 'en';
  try { localStorage.setItem('airshield.lang', lang); } catch { /* ignore */ }
  document.documentElement.lang = lang;
  applyStatic();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) { listeners.push(fn); }

export function t(key, vars = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** Fill every element with data-i18n (text), data-i18n-title and data-i18n-aria (attributes). */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAria));
  }
  document.title = t('title');
}

/** A region's or city's name in the current language. */
export function placeName(p) {
  if (!p) return '';
  return (lang === 'uk' ? p.name_uk || p.name : p.name || p.name_uk) || p.id || '';
}

const TZ = 'Europe/Kyiv';

/** "21:04" (or "21:04:05" with seconds) in Kyiv time. */
export function fmtTime(sec, withSeconds = false) {
  if (sec == null || !Number.isFinite(sec)) return t('unknown_time');
  return new Intl.DateTimeFormat(lang === 'uk' ? 'uk-UA' : 'en-GB', {
    hour: '2-digit', minute: '2-digit', second: withSeconds ? '2-digit' : undefined,
    hour12: false, timeZone: TZ,
  }).format(new Date(sec * 1000));
}

/** "1 Oct, 21:04:05" in Kyiv time. */
export function fmtDateTime(sec) {
  if (sec == null || !Number.isFinite(sec)) return t('unknown_time');
  return new Intl.DateTimeFormat(lang === 'uk' ? 'uk-UA' : 'en-GB', {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit',
    hour12: false, timeZone: TZ,
  }).format(new Date(sec * 1000));
}

/** A duration in seconds as "12 min" or "40 s". */
export function fmtDuration(s) {
  if (s == null || !Number.isFinite(s)) return t('unknown_time');
  return s >= 90 ? t('minutes', { n: Math.round(s / 60) }) : t('seconds', { n: Math.round(s) });
}

/** An earliest time as "12 min" or "40 s", rounded down: "at the earliest" must not come later. */
export function fmtDurationFloor(s) {
  if (s == null || !Number.isFinite(s)) return t('unknown_time');
  return s >= 90 ? t('minutes', { n: Math.floor(s / 60) }) : t('seconds', { n: Math.floor(s) });
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(lang === 'uk' ? 'uk-UA' : 'en-GB').format(n);
}
