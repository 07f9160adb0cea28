<?php
/**
 * Plugin Name:       Portal Bridge
 * Description:       Connects WooCommerce to the distribution portal: remembers the distributor who referred a visitor (?ref=CODE) and records it on the order as _portal_ref; shows a "share & earn" box on the thank-you page; adds "Distributor centre" to My Account, which signs the customer in to the portal.
 * Version:           0.2.0
 * Requires at least: 6.0
 * Requires PHP:      7.4
 * WC requires at least: 8.0
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       portal-bridge
 *
 * This program is free software; you can redistribute it and/or modify it under the terms
 * of the GNU General Public License as published by the Free Software Foundation; either
 * version 2 of the License, or (at your option) any later version.
 */

defined( 'ABSPATH' ) || exit;

const PORTAL_BRIDGE_COOKIE   = 'portal_ref';
const PORTAL_BRIDGE_META     = '_portal_ref';
const PORTAL_BRIDGE_SUB      = 'portal_sub';
const PORTAL_BRIDGE_SUB_META = '_portal_sub';
const PORTAL_BRIDGE_ENDPOINT = 'distributor-centre';

require_once __DIR__ . '/includes/signin.php';

/** Declare compatibility with WooCommerce's High-Performance Order Storage. */
add_action(
	'before_woocommerce_init',
	static function () {
		if ( class_exists( \Automattic\WooCommerce\Utilities\FeaturesUtil::class ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', __FILE__, true );
		}
	}
);

/** A referral code as the portal issues them: 6–8 of 23456789ABCDEFGHJKMNPQRSTUVWXYZ. */
function portal_bridge_clean_code( $raw ) {
	$code = strtoupper( trim( (string) $raw ) );
	return preg_match( '/^[2-9A-HJKMNP-Z]{6,8}$/', $code ) ? $code : '';
}

/** A link's sub-id (which post or channel it was shared in): 1–40 of A-Za-z0-9_.- */
function portal_bridge_clean_sub( $raw ) {
	$sub = trim( (string) $raw );
	return preg_match( '/^[A-Za-z0-9_.\-]{1,40}$/', $sub ) ? $sub : '';
}

/** Set (or, with an empty value, clear) one of the plugin's first-party cookies. */
function portal_bridge_set_cookie( $name, $value ) {
	setcookie(
		$name,
		$value,
		array(
			'expires'  => '' === $value ? time() - YEAR_IN_SECONDS : time() + portal_bridge_cookie_days() * DAY_IN_SECONDS,
			'path'     => COOKIEPATH ? COOKIEPATH : '/',
			'domain'   => COOKIE_DOMAIN,
			'secure'   => is_ssl(),
			'httponly' => true,
			'samesite' => 'Lax',
		)
	);
	if ( '' === $value ) {
		unset( $_COOKIE[ $name ] );
	} else {
		$_COOKIE[ $name ] = $value;
	}
}

function portal_bridge_cookie_days() {
	$days = (int) get_option( 'portal_bridge_cookie_days', 30 );
	return $days > 0 ? $days : 30;
}

/** Remember ?ref=CODE (and the link's ?portal_sub=) in first-party cookies; the latest
 * link clicked wins, its sub-id with it. */
add_action(
	'template_redirect',
	static function () {
		if ( ! isset( $_GET['ref'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended
			return;
		}
		$code = portal_bridge_clean_code( wp_unslash( $_GET['ref'] ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		if ( '' === $code ) {
			return;
		}
		portal_bridge_set_cookie( PORTAL_BRIDGE_COOKIE, $code );
		$sub = isset( $_GET[ PORTAL_BRIDGE_SUB ] ) ? portal_bridge_clean_sub( wp_unslash( $_GET[ PORTAL_BRIDGE_SUB ] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		portal_bridge_set_cookie( PORTAL_BRIDGE_SUB, $sub );
	}
);

function portal_bridge_current_code() {
	return isset( $_COOKIE[ PORTAL_BRIDGE_COOKIE ] ) ? portal_bridge_clean_code( wp_unslash( $_COOKIE[ PORTAL_BRIDGE_COOKIE ] ) ) : '';
}

/** Write _portal_ref (and the link's _portal_sub) on the order (works with HPOS: order
 * meta through the order object). */
function portal_bridge_tag_order( $order ) {
	$code = portal_bridge_current_code();
	if ( '' !== $code && $order instanceof WC_Order && ! $order->get_meta( PORTAL_BRIDGE_META ) ) {
		$order->update_meta_data( PORTAL_BRIDGE_META, $code );
		$sub = isset( $_COOKIE[ PORTAL_BRIDGE_SUB ] ) ? portal_bridge_clean_sub( wp_unslash( $_COOKIE[ PORTAL_BRIDGE_SUB ] ) ) : '';
		if ( '' !== $sub ) {
			$order->update_meta_data( PORTAL_BRIDGE_SUB_META, $sub );
		}
	}
}

// Classic checkout.
add_action( 'woocommerce_checkout_create_order', 'portal_bridge_tag_order', 10, 1 );
// Either checkout: an order to collect at a group leader's pickup point says so.
add_action( 'woocommerce_checkout_create_order', 'portal_bridge_tag_pickup', 20, 1 );
add_action( 'woocommerce_store_api_checkout_update_order_from_request', 'portal_bridge_tag_pickup', 20, 1 );

/**
 * The approved pickup point of the group leader with this code, as the portal answers
 * GET /pickup/<code>.json (id, name, address, hours); cached five minutes, "none" too.
 */
function portal_bridge_pickup_point( $code ) {
	$portal = rtrim( (string) get_option( 'portal_bridge_portal_url', '' ), '/' );
	if ( '' === $portal || '' === $code ) {
		return null;
	}
	$key    = 'portal_bridge_pickup_' . $code;
	$cached = get_transient( $key );
	if ( false !== $cached ) {
		return is_array( $cached ) ? $cached : null;
	}
	$point    = 'none';
	$response = wp_remote_get( $portal . '/pickup/' . rawurlencode( $code ) . '.json', array( 'timeout' => 3 ) );
	if ( ! is_wp_error( $response ) && 200 === (int) wp_remote_retrieve_response_code( $response ) ) {
		$data = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( is_array( $data ) && isset( $data['id'], $data['name'], $data['address'], $data['hours'] ) ) {
			$point = $data;
		}
	}
	set_transient( $key, $point, 5 * MINUTE_IN_SECONDS );
	return is_array( $point ) ? $point : null;
}

/**
 * WooCommerce Subscriptions: a renewal order names its subscription (_subscription_renewal);
 * the portal also needs the subscription's original order, whose distributor it is credited to.
 */
add_filter(
	'wcs_renewal_order_created',
	static function ( $renewal_order, $subscription ) {
		if ( $renewal_order instanceof WC_Order && is_object( $subscription ) && method_exists( $subscription, 'get_parent_id' ) ) {
			$parent = (int) $subscription->get_parent_id();
			if ( $parent > 0 ) {
				$renewal_order->update_meta_data( '_portal_renewal_of', (string) $parent );
				$renewal_order->save();
			}
		}
		return $renewal_order;
	},
	10,
	2
);

/** The pickup shipping line's meta written as order meta for the portal's bridge. */
function portal_bridge_tag_pickup( $order ) {
	if ( ! $order instanceof WC_Order ) {
		return;
	}
	foreach ( $order->get_shipping_methods() as $line ) {
		if ( 'portal_pickup' === $line->get_method_id() ) {
			$order->update_meta_data( '_portal_pickup_point', (string) $line->get_meta( 'pickup_point' ) );
			$order->update_meta_data( '_portal_pickup_code', (string) $line->get_meta( 'pickup_code' ) );
			return;
		}
	}
}

/** The group leader's pickup point as a shipping method the shop adds to its zones and prices. */
add_action(
	'woocommerce_shipping_init',
	static function () {
		if ( class_exists( 'Portal_Bridge_Pickup_Method' ) ) {
			return;
		}
		/** Offered only to buyers who came through a leader's link whose point the portal approved. */
		class Portal_Bridge_Pickup_Method extends WC_Shipping_Method {
			public function __construct( $instance_id = 0 ) {
				$this->id                   = 'portal_pickup';
				$this->instance_id          = absint( $instance_id );
				$this->method_title         = __( "Group leader's pickup point", 'portal-bridge' );
				$this->method_description   = __( 'Offers the pickup point of the group leader whose link the buyer came through, as approved in the distribution portal.', 'portal-bridge' );
				$this->supports             = array( 'shipping-zones', 'instance-settings' );
				$this->instance_form_fields = array(
					'cost' => array(
						'title'       => __( 'Cost', 'portal-bridge' ),
						'type'        => 'price',
						'default'     => '0',
						'description' => __( 'What the buyer pays to collect at the point.', 'portal-bridge' ),
						'desc_tip'    => true,
					),
				);
				$this->title                = __( 'Collect from your group leader', 'portal-bridge' );
			}

			public function calculate_shipping( $package = array() ) {
				$code  = portal_bridge_current_code();
				$point = portal_bridge_pickup_point( $code );
				if ( null === $point ) {
					return;
				}
				$this->add_rate(
					array(
						'id'        => $this->get_rate_id(),
						'label'     => sprintf( '%1$s: %2$s (%3$s)', $point['name'], $point['address'], $point['hours'] ),
						'cost'      => $this->get_option( 'cost', '0' ),
						'meta_data' => array(
							'pickup_point' => (string) $point['id'],
							'pickup_code'  => $code,
						),
					)
				);
			}
		}
	}
);
add_filter(
	'woocommerce_shipping_methods',
	static function ( $methods ) {
		$methods['portal_pickup'] = 'Portal_Bridge_Pickup_Method';
		return $methods;
	}
);
// Block (Store API) checkout.
add_action( 'woocommerce_store_api_checkout_update_order_from_request', 'portal_bridge_tag_order', 10, 1 );

/** "Share & earn" on the thank-you page: the buyer may become a distributor too. */
add_action(
	'woocommerce_thankyou',
	static function () {
		$portal = rtrim( (string) get_option( 'portal_bridge_portal_url', '' ), '/' );
		if ( '' === $portal ) {
			return;
		}
		$code = portal_bridge_current_code();
		$join = $portal . '/join' . ( '' !== $code ? '/' . rawurlencode( $code ) : '' );
		printf(
			'<section class="portal-bridge-share"><h2>%s</h2><p>%s</p><p><a class="button" href="%s">%s</a></p></section>',
			esc_html__( 'Share & earn', 'portal-bridge' ),
			esc_html__( 'Liked your order? Recommend us to friends and earn commission on what they buy.', 'portal-bridge' ),
			esc_url( $join ),
			esc_html__( 'Become a distributor', 'portal-bridge' )
		);
	}
);

/** My Account → Distributor centre: an endpoint of WooCommerce's own (rewrite rule included). */
add_filter(
	'woocommerce_get_query_vars',
	static function ( $vars ) {
		$vars[ PORTAL_BRIDGE_ENDPOINT ] = PORTAL_BRIDGE_ENDPOINT;
		return $vars;
	}
);

register_activation_hook(
	__FILE__,
	static function () {
		add_rewrite_endpoint( PORTAL_BRIDGE_ENDPOINT, EP_ROOT | EP_PAGES );
		flush_rewrite_rules();
	}
);

add_filter(
	'woocommerce_account_menu_items',
	static function ( $items ) {
		if ( '' === portal_bridge_portal_url() || '' === portal_bridge_signin_secret() ) {
			return $items;
		}
		$logout = isset( $items['customer-logout'] ) ? array( 'customer-logout' => $items['customer-logout'] ) : array();
		unset( $items['customer-logout'] );
		$items[ PORTAL_BRIDGE_ENDPOINT ] = __( 'Distributor centre', 'portal-bridge' );
		return $items + $logout;
	}
);

function portal_bridge_portal_url() {
	return rtrim( (string) get_option( 'portal_bridge_portal_url', '' ), '/' );
}

function portal_bridge_signin_secret() {
	return (string) get_option( 'portal_bridge_signin_secret', '' );
}

/** The signed-in customer as the assertion names them. */
function portal_bridge_current_customer() {
	$user = wp_get_current_user();
	$name = trim( get_user_meta( $user->ID, 'billing_first_name', true ) . ' ' . get_user_meta( $user->ID, 'billing_last_name', true ) );
	return array(
		'id'     => $user->ID,
		'email'  => $user->user_email,
		'name'   => '' !== $name ? $name : $user->display_name,
		'locale' => get_user_locale( $user ),
	);
}

/** Opening the endpoint sends the customer to the portal with a fresh assertion. */
add_action(
	'template_redirect',
	static function () {
		if ( ! is_user_logged_in() || ! function_exists( 'is_wc_endpoint_url' ) || ! is_wc_endpoint_url( PORTAL_BRIDGE_ENDPOINT ) ) {
			return;
		}
		$claims = portal_bridge_signin_claims(
			portal_bridge_current_customer(),
			home_url( '/' ),
			time(),
			portal_bridge_signin_nonce(),
			portal_bridge_current_code()
		);
		$token  = portal_bridge_signin_token( $claims, portal_bridge_signin_secret() );
		if ( '' === $token || '' === portal_bridge_portal_url() ) {
			wp_safe_redirect( wc_get_account_endpoint_url( 'dashboard' ) );
			exit;
		}
		nocache_headers();
		wp_redirect( portal_bridge_signin_url( portal_bridge_portal_url(), $token ), 302 ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the portal is another host, set by the admin.
		exit;
	}
);

/** Settings → Portal Bridge: the portal URL, how long a referral is remembered, the sign-in secret. */
add_action(
	'admin_init',
	static function () {
		register_setting( 'portal_bridge', 'portal_bridge_portal_url', array( 'type' => 'string', 'sanitize_callback' => 'esc_url_raw' ) );
		register_setting( 'portal_bridge', 'portal_bridge_cookie_days', array( 'type' => 'integer', 'sanitize_callback' => 'absint', 'default' => 30 ) );
		register_setting( 'portal_bridge', 'portal_bridge_signin_secret', array( 'type' => 'string', 'sanitize_callback' => 'sanitize_text_field' ) );
	}
);

add_action(
	'admin_menu',
	static function () {
		add_options_page(
			__( 'Portal Bridge', 'portal-bridge' ),
			__( 'Portal Bridge', 'portal-bridge' ),
			'manage_options',
			'portal-bridge',
			'portal_bridge_settings_page'
		);
	}
);

function portal_bridge_settings_page() {
	?>
	<div class="wrap">
		<h1><?php esc_html_e( 'Portal Bridge', 'portal-bridge' ); ?></h1>
		<form method="post" action="options.php">
			<?php settings_fields( 'portal_bridge' ); ?>
			<table class="form-table" role="presentation">
				<tr>
					<th scope="row"><label for="portal_bridge_portal_url"><?php esc_html_e( 'Portal URL', 'portal-bridge' ); ?></label></th>
					<td><input type="url" class="regular-text" id="portal_bridge_portal_url" name="portal_bridge_portal_url" value="<?php echo esc_attr( get_option( 'portal_bridge_portal_url', '' ) ); ?>" placeholder="https://partners.example.com"></td>
				</tr>
				<tr>
					<th scope="row"><label for="portal_bridge_cookie_days"><?php esc_html_e( 'Remember a referral for (days)', 'portal-bridge' ); ?></label></th>
					<td><input type="number" min="1" id="portal_bridge_cookie_days" name="portal_bridge_cookie_days" value="<?php echo esc_attr( portal_bridge_cookie_days() ); ?>"></td>
				</tr>
				<tr>
					<th scope="row"><label for="portal_bridge_signin_secret"><?php esc_html_e( 'Sign-in secret', 'portal-bridge' ); ?></label></th>
					<td><input type="password" class="regular-text" autocomplete="off" id="portal_bridge_signin_secret" name="portal_bridge_signin_secret" value="<?php echo esc_attr( portal_bridge_signin_secret() ); ?>">
					<p class="description"><?php esc_html_e( 'From the portal: Admin → Shop → Sign in with the shop account. With it, My Account shows "Distributor centre", which signs the customer in to the portal.', 'portal-bridge' ); ?></p></td>
				</tr>
			</table>
			<?php submit_button(); ?>
		</form>
	</div>
	<?php
}
