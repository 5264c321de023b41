import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import { SignInRequired, type StaffUser } from '../../src/auth/staff/staff-session.js';
import { SignInNotNeeded, Staff } from '../../src/auth/staff/staff.decorator.js';
import { StaffGuard } from '../../src/auth/staff/staff.guard.js';
import { ApiError } from '../../src/common/api-error.js';

const HOUR = 3_600_000;

@Controller('pages')
class Pages {
  @Get('any')
  @Staff('admin', 'finance', 'analyst')
  any() {}

  @Get('admin')
  @Staff('admin')
  admin() {}

  @Get('open')
  @SignInNotNeeded()
  open() {}

  @Get('forgotten')
  forgotten() {}
}

const guard = new StaffGuard(new Reflector(), { saml: { sessionAbsoluteHours: 8 } as never });

function contextOf(handler: keyof Pages, session?: { staff?: StaffUser; signedInAt?: number }): ExecutionContext {
  const request = { url: `/pages/${handler}`, session };
  return {
    getHandler: () => Pages.prototype[handler],
    getClass: () => Pages,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

const finance: StaffUser = { nameId: 'fin@corp.example', email: null, roles: ['finance'] };
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('StaffGuard', () => {
  it('refuses a route with neither @Staff nor @SignInNotNeeded, even for a signed-in admin (fail closed)', () => {
    const error = refusal(() => guard.canActivate(contextOf('forgotten', { staff: { ...finance, roles: ['admin'] }, signedInAt: Date.now() })));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
  });

  it('lets anyone open a @SignInNotNeeded page', () => {
    expect(guard.canActivate(contextOf('open'))).toBe(true);
  });

  it('sends a browser without a signed-in person to sign in, coming back to the page', () => {
    const error = refusal(() => guard.canActivate(contextOf('any', {})));
    expect(error).toBeInstanceOf(SignInRequired);
    expect((error as SignInRequired).returnTo).toBe('/pages/any');
  });

  it('ends a session past the absolute timeout, however active', () => {
    expect(refusal(() => guard.canActivate(contextOf('any', { staff: finance, signedInAt: Date.now() - 9 * HOUR })))).toBeInstanceOf(SignInRequired);
    expect(guard.canActivate(contextOf('any', { staff: finance, signedInAt: Date.now() - 7 * HOUR }))).toBe(true);
  });

  it('answers 403 to a signed-in person without one of the roles the page names', () => {
    const error = refusal(() => guard.canActivate(contextOf('admin', { staff: finance, signedInAt: Date.now() })));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect((error as ApiError).message).toBe('this page needs the role admin');
  });
});
