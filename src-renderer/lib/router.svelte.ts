/** Hash routes (#/kitchens): they work the same from file:// in Electron and over HTTP. */
class Router {
  route = $state(Router.read());

  constructor() {
    window.addEventListener('hashchange', () => (this.route = Router.read()));
  }

  static read(): string {
    const hash = window.location.hash.replace(/^#\/?/, '');
    return hash.split('?')[0] || 'kitchens';
  }

  go(route: string): void {
    window.location.hash = `#/${route}`;
  }
}

export const router = new Router();
