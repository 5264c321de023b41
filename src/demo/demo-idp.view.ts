import { html, simplePage } from '../common/html.js';
import type { DemoPerson } from './demo-idp.js';

export interface DemoSignInChoice {
  person: DemoPerson;
  /** The signed SAML Response (base64) that signs this person in. */
  samlResponse: string;
}

/**
 * The demo IdP's sign-in page: one button per person, each a form that posts its own signed response
 * to the service's ACS (the HTTP-POST binding). Nothing to type, no script: the console's CSP allows
 * forms to post to this origin only, which the ACS is.
 */
export function demoSignInView(acsUrl: string, relayState: string | undefined, choices: DemoSignInChoice[]): string {
  return simplePage(
    'Demo identity provider',
    html`<p class="flash">This sign-in page exists only in embedgate's demo mode (no <code>DATABASE_URL</code>): whoever reaches it may sign in as
        anyone below. With a real database it is not there; staff sign in through the company's identity provider.</p>
      <p>Pick who you are. Each choice sends embedgate a SAML response signed with the demo's generated key.</p>
      <div class="cards">
        ${choices.map(
          ({ person, samlResponse }) =>
            html`<form class="card" method="post" action="${acsUrl}" data-role="${person.role}">
              <input type="hidden" name="SAMLResponse" value="${samlResponse}" />
              ${relayState ? html`<input type="hidden" name="RelayState" value="${relayState}" />` : ''}
              <b>${person.role}</b>
              <p>${person.name}<br /><span class="muted">${person.email}</span></p>
              <p class="muted">${person.can}</p>
              <button type="submit">Sign in as ${person.name}</button>
            </form>`,
        )}
      </div>`,
  );
}

/** A request the demo IdP does not answer. */
export const demoRefusalView = (reason: string) =>
  simplePage('Demo identity provider', html`<p>${reason}.</p><p><a href="/console">Start again from the console</a></p>`);
