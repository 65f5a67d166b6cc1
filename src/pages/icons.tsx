/**
 * The few icons the customer pages show above a status, drawn as inline SVG: an emoji needs an
 * emoji font, and without one the confirmation showed an empty box. Decorative (the heading says
 * the same in words), sized and coloured by the stylesheet (`.status svg`, `.i-{name}`), drawn in
 * `currentColor` so dark mode recolours them; no inline style, which the pages' CSP forbids.
 */

const SHAPES = {
  /** Paid, received. */
  check: (
    <>
      <circle cx="12" cy="12" r="10" />
      <path d="m7.5 12.5 3 3 6-6.5" />
    </>
  ),
  /** A problem the customer can do little about. */
  warning: (
    <>
      <path d="M10.3 3.9 2.4 17.6A2 2 0 0 0 4.1 20.6h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z" />
      <path d="M12 9.5v4M12 17h.01" />
    </>
  ),
  /** Nothing found at this address. */
  search: (
    <>
      <circle cx="10.5" cy="10.5" r="6.5" />
      <path d="m15.5 15.5 5 5" />
    </>
  ),
  /** Waiting, or over. */
  hourglass: (
    <path d="M6 2.5h12M6 21.5h12M7 2.5c0 5 10 5 10 9.5S7 17 7 21.5M17 2.5c0 5-10 5-10 9.5s10 5 10 9.5" />
  ),
  /** Paused for now. */
  pause: (
    <>
      <circle cx="12" cy="12" r="10" />
      <path d="M10 8.5v7M14 8.5v7" />
    </>
  ),
  /** Failed. */
  cross: (
    <>
      <circle cx="12" cy="12" r="10" />
      <path d="m9 9 6 6M15 9l-6 6" />
    </>
  ),
  /** Cancelled: back where the customer came from. */
  back: <path d="M9 14 4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11" />,
  /** Timed out. */
  clock: (
    <>
      <circle cx="12" cy="13" r="8.5" />
      <path d="M12 8.5V13l3 2M10 2h4" />
    </>
  ),
}

export type IconName = keyof typeof SHAPES

export function Icon(props: { name: IconName }) {
  return (
    <svg
      class={`i-${props.name}`}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {SHAPES[props.name]}
    </svg>
  )
}
