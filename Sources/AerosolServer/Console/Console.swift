import AerosolModels
import AerosolStore
import Foundation
import Hummingbird
import Logging

/// The web console (`/console`): server-rendered pages (Mustache) with small plain JavaScript
/// modules that call the REST API itself, signed in by an HttpOnly, SameSite=Strict session
/// cookie. The session is an access token of client `console`, so the API's rules on who may
/// see what apply unchanged; requests that change something also carry the session's CSRF
/// token (a hidden field in forms, `X-CSRF-Token` from scripts).
struct Console: Sendable {
    let cloud: Cloud
    let views: ConsoleViews

    /// The login form's CSRF cookie (a double submit: the form must repeat it).
    static let loginCookie = "aerosol_login"

    func register(_ routes: RouteRegistrar) {
        routes.on(.get, "/", .anyone) { _, _ in .redirect(to: "/console") }
        routes.on(.get, "/console", .anyone) { request, _ in
            await user(request) == nil ? .redirect(to: "/console/login") : .redirect(to: "/console/events")
        }
        routes.on(.get, "/console/static/:file", .anyone) { _, context in
            guard let asset = views.assets[try context.parameters.require("file")] else {
                throw APIError.notFound("No such console file")
            }
            return Response(
                status: .ok,
                headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                body: .init(byteBuffer: asset.bytes)
            )
        }
        routes.on(.get, "/console/login", .anyone) { request, _ in
            if await user(request) != nil { return .redirect(to: "/console/events") }
            return signInPage(request, error: nil, email: "")
        }
        routes.on(.post, "/console/login", .anyone) { request, context in
            try await signIn(request, context: context)
        }
        routes.on(.post, "/console/logout", .session) { request, _ in try await signOut(request) }
        ConsolePages(console: self).register(routes)
    }

    // MARK: Sessions

    /// The signed-in user of a request, or `nil` (no cookie, or an expired or revoked session).
    func user(_ request: Request) async -> ConsoleUser? {
        guard let token = request.cookies[Authenticator.sessionCookie]?.value, !token.isEmpty,
            let caller = try? await cloud.auth.caller(token: token), caller.client == "console",
            let account = try? await cloud.users.find(id: caller.userID)
        else { return nil }
        return ConsoleUser(caller: caller, email: account.email, csrf: cloud.auth.csrfToken(for: caller))
    }

    /// Checks the CSRF token of a form post against the session's.
    func checkCSRF(_ fields: RequestFields, for user: ConsoleUser) throws {
        guard Authenticator.constantTimeEqual(fields.string("csrf_token") ?? "", user.csrf) else {
            throw APIError.csrfRefused
        }
    }

    private func signInPage(_ request: Request, error: String?, email: String, status: HTTPResponse.Status = .ok)
        -> Response
    {
        let nonce = request.cookies[Self.loginCookie]?.value ?? TokenHasher.generate()
        var values: [String: Any] = ["csrf": nonce, "email": email]
        if let error { values["error"] = error }
        var response = Response.html(views.render("login", values), status: status)
        response.setCookie(cookie(Self.loginCookie, nonce, request: request, maxAge: 3600))
        return response
    }

    private func signIn(_ request: Request, context: CloudRequestContext) async throws -> Response {
        var request = request
        let fields = try await cloud.fields(&request)
        let expected = request.cookies[Self.loginCookie]?.value ?? ""
        guard !expected.isEmpty, Authenticator.constantTimeEqual(fields.string("csrf_token") ?? "", expected) else {
            return signInPage(request, error: "The form expired. Please sign in again.", email: "", status: .forbidden)
        }
        let email = fields.string("email") ?? ""
        let account: User
        do {
            guard
                let user = try await cloud.signIn(
                    email: email,
                    password: fields.string("password") ?? "",
                    context: context
                )
            else {
                return signInPage(request, error: "Wrong email or password.", email: email, status: .unauthorized)
            }
            account = user
        } catch let error as APIError where error.status == .tooManyRequests {
            return signInPage(
                request,
                error: "Too many failed attempts: sign-in is locked for a while. Try again later.",
                email: email,
                status: .tooManyRequests
            )
        }
        let lifetime = cloud.configuration.consoleSessionLifetime
        let issued = try await cloud.tokens.issue(
            userID: account.id,
            client: "console",
            expiresIn: TimeInterval(lifetime.components.seconds)
        )
        var response = Response.redirect(to: "/console/events")
        response.setCookie(
            cookie(
                Authenticator.sessionCookie,
                issued.accessToken,
                request: request,
                maxAge: Int(lifetime.components.seconds)
            )
        )
        response.setCookie(cookie(Self.loginCookie, "", request: request, maxAge: 0))
        context.logger.info("console sign-in", metadata: ["user.id": "\(account.id)"])
        return response
    }

    private func signOut(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await cloud.fields(&request)
        var response = Response.redirect(to: "/console/login")
        response.setCookie(cookie(Authenticator.sessionCookie, "", request: request, maxAge: 0))
        guard let user = await user(request) else { return response }
        try checkCSRF(fields, for: user)
        try await cloud.tokens.revoke(tokenHash: user.caller.tokenHash)
        cloud.forget(tokenHashes: [user.caller.tokenHash])
        return response
    }

    /// An HttpOnly, SameSite=Strict cookie for the whole site; `Secure` when configured or when a
    /// proxy reports HTTPS.
    private func cookie(_ name: String, _ value: String, request: Request, maxAge: Int) -> Cookie {
        let forwarded = request.headers[.xForwardedProto]?.lowercased() == "https"
        return Cookie(
            name: name,
            value: value,
            maxAge: maxAge,
            path: "/",
            secure: cloud.configuration.secureCookies || forwarded,
            httpOnly: true,
            sameSite: .strict
        )
    }
}
