import { html, simplePage } from '../html.js';

/** After sign-out (anyone may see it). */
export const signedOutView = () => simplePage('Signed out', html`<p>You are signed out. <a href="/console">Sign in again</a></p>`);

/** A refusal (4xx) in a browser: a page with the error's message, not JSON. */
export const errorView = (message: string) => simplePage('Not possible', html`<p>${message}</p><p><a href="/console">Back to the console</a></p>`);
