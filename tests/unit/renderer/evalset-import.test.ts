import { describe, expect, it } from 'vitest';
import type { ImportForm } from '../../../src-renderer/lib/evalset-import.js';
import { importRequest, proposeOutput } from '../../../src-renderer/lib/evalset-import.js';

const blank: ImportForm = {
  folder: '/data/imagenet-r',
  out: '/data/imagenet-r.safetensors',
  name: '',
  role: '',
  size: '',
  crop: '',
  channels: '3',
  mean: '',
  std: '',
  strict: false,
};

describe('Import image folder form', () => {
  it("proposes the kitchen's data folder, else a file beside the image folder", () => {
    const kitchens = [{ path: '/home/me/sweep' }];
    expect(proposeOutput('/home/me/sweep/images/val/', kitchens)).toBe('/home/me/sweep/data/val.safetensors');
    expect(proposeOutput('/data/imagenet-r', kitchens)).toBe('/data/imagenet-r.safetensors');
    expect(proposeOutput('C:\\data\\imagenet-a', [])).toBe('C:\\data\\imagenet-a.safetensors');
    expect(proposeOutput('  ', kitchens)).toBe('');
  });

  it('builds the evalsets:import request, leaving empty fields to the defaults', () => {
    expect(importRequest(blank)).toEqual({
      folder: '/data/imagenet-r',
      out: '/data/imagenet-r.safetensors',
      channels: 3,
      strict: false,
    });
    expect(
      importRequest({
        ...blank,
        name: ' r ',
        role: 'shift',
        size: '256',
        crop: '224',
        channels: '1',
        mean: '0.485, 0.456,0.406',
        std: '0.5',
        strict: true,
      }),
    ).toEqual({
      folder: '/data/imagenet-r',
      out: '/data/imagenet-r.safetensors',
      name: 'r',
      role: 'shift',
      size: 256,
      crop: 224,
      channels: 1,
      mean: [0.485, 0.456, 0.406],
      std: [0.5],
      strict: true,
    });
  });

  it('names the first problem instead of sending a bad request', () => {
    expect(importRequest({ ...blank, folder: '' })).toBe('choose the image folder');
    expect(importRequest({ ...blank, size: '22.5' })).toMatch(/Resize must be a whole number/);
    expect(importRequest({ ...blank, mean: '1,2' })).toMatch(/Mean takes 1 or 3 numbers/);
  });
});
